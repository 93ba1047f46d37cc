#!/bin/sh
# Instructions per value + gradient for every case of `hmm_cost.rs`: the callgrind count of
# 2N runs minus that of N, over N (one thread). Usage: benches/scripts/hmm_cost.sh [binary] [N]
# (default: target/release/hmm_cost, N = 20; build it first, see hmm_cost.rs).
bin=${1:-target/release/hmm_cost}
n=${2:-20}
count() {
    RAYON_NUM_THREADS=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 |
        sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}
for c in ${CASES:-homogeneous missing zoo-homogeneous covariates hand}; do
    lo=$(count "$c" "$n")
    hi=$(count "$c" $((2 * n)))
    sum=$("$bin" "$c" 1 | sed -n 's/checksum //p')
    echo "$c $(( (hi - lo) / n )) checksum $sum"
done
