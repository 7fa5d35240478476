#!/usr/bin/env bash
# Smoke test of //bench:compare: every engine and workload at a tiny scale, one run. Fails if the
# binary exits non-zero, the Markdown or SVG is missing, no Manifold row is in the table, or an
# engine other than Manifold reports an error (Manifold cells may read "error: ..." while its
# write-ahead log is being built: WriteOptions.sync = false is NotSupported until then).
# Usage: compare_smoke_test.sh [path/to/compare]
set -euo pipefail

compare="${1:-bench/compare}"
[[ -x "$compare" ]] || compare="$(dirname "$0")/compare"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
out="$tmp/out"

fail() { echo "compare_smoke_test: FAIL: $*" >&2; exit 1; }

"$compare" --help >"$tmp/help.txt" || fail "--help exited $?"
grep -q -- "--group_commit_window_us" "$tmp/help.txt" || fail "--help lacks the flags"

status=0
"$compare" --scale 0.002 --bulk_keys 1000000 --runs 1 --dir "$tmp/data" --out_dir "$out" \
    >"$tmp/stdout.txt" 2>"$tmp/stderr.txt" || status=$?
cat "$tmp/stdout.txt"
tail -n 5 "$tmp/stderr.txt"
((status == 0)) || fail "compare exited with status $status"

md="$out/compare.md"
svg="$out/compare.svg"
[[ -s "$md" ]] || fail "$md is missing or empty"
[[ -s "$svg" ]] || fail "$svg is missing or empty"
grep -q "^<svg " "$svg" && grep -q "</svg>" "$svg" || fail "$svg is not an SVG document"

# Table rows start with "| <workload> | <engine> |".
grep -Eq '^\| [a-z0-9/-]+ \| manifold' "$md" || fail "no Manifold row in $md"
for engine in rocksdb leveldb lmdb sqlite; do
  grep -Eq "^\| [a-z0-9/-]+ \| $engine \|" "$md" || fail "no $engine row in $md"
  if grep -E "^\| [a-z0-9/-]+ \| $engine \| error" "$md"; then fail "$engine reported an error"; fi
done
for row in cfwrite/durable/seq/be read/point commit/8-threads bulk/load recovery/reopen; do
  grep -q "^| $row |" "$md" || fail "workload row $row missing from $md"
done
# The data directory's databases are removed after each run.
[[ -z "$(ls -A "$tmp/data" 2>/dev/null)" ]] || fail "databases left behind in $tmp/data"

echo "compare_smoke_test: PASS"
