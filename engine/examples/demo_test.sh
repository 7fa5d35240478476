#!/usr/bin/env bash
# Runs the demo twice on one directory (the second run reopens an existing database).
set -euo pipefail
demo="$(dirname "$0")/demo"
[[ -x "$demo" ]] || demo="engine/examples/demo"
dir="${TEST_TMPDIR:-/tmp}/demo-db"
"$demo" --dir "$dir" --keys 3000 | grep -q "verify OK"
"$demo" --dir "$dir" --keys 3000 | grep -q "all 3000 keys read back"
"$demo" --help | grep -q usage
if "$demo" --bogus 2>/dev/null; then echo "bad flag accepted" >&2; exit 1; fi
echo "demo_test: 4 passed, 0 failed"
