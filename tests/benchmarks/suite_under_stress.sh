#!/usr/bin/env bash
# The whole suite three times in file order and three times in random order, while stress-ng keeps
# every core busy, with no retries. One line per run (order, seed, result, wall time); exit 1 if any failed.
#   bash tests/benchmarks/suite_under_stress.sh [runs-per-order]
set -uo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
command -v stress-ng >/dev/null || { echo "needs stress-ng (apt-get install stress-ng)" >&2; exit 2; }
stress-ng --cpu "$(nproc)" --quiet &
hog=$!
trap 'kill $hog 2>/dev/null' EXIT
failed=0
for order in no:randomly randomly; do
    for i in $(seq 1 "$runs"); do
        log=$(mktemp /tmp/vibed-stress-XXXX.log)
        args=(-q -p no:cacheprovider -p "$order")
        seed=-
        if [ "$order" = randomly ]; then seed=$((RANDOM * 32768 + RANDOM)); args+=("--randomly-seed=$seed"); fi
        start=$(date +%s)
        .venv/bin/pytest "${args[@]}" >"$log" 2>&1
        code=$?
        echo "pytest -p $order: run $i, seed $seed, exit $code, $(( $(date +%s) - start )) s: $(tail -1 "$log") (log $log)"
        [ $code -eq 0 ] || failed=1
    done
done
exit $failed
