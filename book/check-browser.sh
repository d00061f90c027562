#!/usr/bin/env bash
# Builds the book and renders every page in headless Chromium at 1280 px;
# fails when a page overflows sideways (book/check_browser.py says how it
# measures). Needs python3 and Debian's `chromium` package
# (`apt-get install -y --no-install-recommends chromium`); .ci/run
# installs Chromium when it is missing. A missing browser is a failure,
# never a skip.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in python3 cargo; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "check-browser: $tool not found" >&2
        exit 1
    fi
done
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
    echo "check-browser: chromium not found; install it with" >&2
    echo "  apt-get install -y --no-install-recommends chromium" >&2
    exit 1
fi

# The book's build test writes the book to <target>/tmp/book.
cargo test -q -p warden-book --test build -- book_builds
target=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
python3 book/check_browser.py "$target/tmp/book"
