#!/bin/sh
# Instructions per evaluation for every case of `tape_cost.rs` (the callgrind count of 2N runs
# minus that of N, over N), and each tape variant's ratio to its function's `hand` case.
# Usage: benches/scripts/tape_cost.sh [N] [binary]
# (default N = 20, binary target/release/tape_cost; build it first, see tape_cost.rs).
n=${1:-20}
bin=${2:-target/release/tape_cost}
count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 |
        sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}
for case in $("$bin" list); do
    lo=$(count "$case" "$n")
    hi=$(count "$case" $((2 * n)))
    per=$(((hi - lo) / n))
    case "$case" in
    */hand) hand=$per; echo "$case $per" ;;
    *) echo "$case $per $(echo "scale=2; $per / $hand" | bc)x" ;;
    esac
done
