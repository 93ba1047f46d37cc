#!/bin/sh
# Instructions per gradient for every benchmark of `gradient_cost.rs`: the callgrind count of
# 200 runs minus that of 100, over 100. Usage: benches/scripts/gradient_cost.sh [binary]
# (default: target/release/gradient_cost; build it first, see gradient_cost.rs).
bin=${1:-target/release/gradient_cost}
count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 |
        sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}
for b in rosenbrock-reverse-10 rosenbrock-reverse-100 rosenbrock-reverse-1000 \
    rosenbrock-forward-10 rosenbrock-forward-100 rosenbrock-forward-1000 \
    mixture-reverse mixture-forward; do
    lo=$(count "$b" 100)
    hi=$(count "$b" 200)
    echo "$b $(( (hi - lo) / 100 ))"
done
