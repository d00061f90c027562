#!/usr/bin/env bash
# Runs the whole suite with quick settings — the contended and wake-up
# groups three times, each saved as its own criterion baseline — prints the ratio table
# (median ratio over the runs), and refreshes the published copies:
#
#   book/src/performance-table.md  the table and the issue-11 targets (Markdown)
#   book/src/performance.svg       the bar chart of the ratios
#   README.md                      the targets, between its ratios:begin/end lines
#
# About 30 minutes on 2 cores.
#
#   benches/run-all.sh [extra criterion args...]
#
# Honours CARGO_TARGET_DIR (results land in $CARGO_TARGET_DIR/criterion).
# To rewrite the three files from results already saved, without running:
#
#   cargo run -p warden-benches --bin ratios -- run1 run2 run3 \
#       --markdown book/src/performance-table.md --svg book/src/performance.svg --readme README.md
set -euo pipefail
cd "$(dirname "$0")/.."

quick=(--warm-up-time 1 --measurement-time 2 "$@")
bench() { nice -n 10 cargo bench -p warden-benches --bench "$1" -- "${quick[@]}" --save-baseline "$2"; }

# Groups with tasks on two workers (contended locks, wake-ups) swing from
# run to run: three runs each, and the report takes the median ratio.
for run in run1 run2 run3; do
    bench contended "$run"
    bench wakeups "$run"
done
bench uncontended run1
bench guarded run1

model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1 || true)
machine="$(nproc) cores${model:+ ($model)}, $(uname -sm)"
cargo run -q -p warden-benches --bin ratios -- run1 run2 run3 \
    --machine "$machine" \
    --markdown book/src/performance-table.md \
    --svg book/src/performance.svg \
    --readme README.md
echo "run-all: refreshed book/src/performance-table.md, book/src/performance.svg and README.md; review with git diff"
