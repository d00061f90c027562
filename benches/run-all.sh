#!/usr/bin/env bash
# Runs the whole suite with quick settings — the contended groups three
# times, each saved as its own criterion baseline — and prints the ratio
# table (median ratio over the runs). About 20 minutes on 2 cores.
#
#   benches/run-all.sh [extra criterion args...]
#
# Honours CARGO_TARGET_DIR (results land in $CARGO_TARGET_DIR/criterion).
set -euo pipefail
cd "$(dirname "$0")/.."

quick=(--warm-up-time 1 --measurement-time 2 "$@")
bench() { nice -n 10 cargo bench -p warden-benches --bench "$1" -- "${quick[@]}" --save-baseline "$2"; }

for run in run1 run2 run3; do
    bench contended "$run"
done
bench uncontended run1
bench wakeups run1
cargo run -q -p warden-benches --bin ratios -- run1 run2 run3
