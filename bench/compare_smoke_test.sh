#!/usr/bin/env bash
# Smoke test of //bench:compare: every engine and workload at a tiny scale, one run. Fails if the
# binary exits non-zero, the Markdown or SVG is missing, an engine has no row in the table, a row
# that writes lacks its write amplification or peak RSS, a row lacks its peak-RSS bound and
# verdict, the recovery rows do not say how much their log held at the crash, the issue 12
# targets section is missing, or any engine, Manifold included, reports an error (the overwrite,
# readwhilewriting and uncached workloads check the values they read, so a wrong read is an
# error).
# Usage: compare_smoke_test.sh [path/to/compare]
set -euo pipefail

compare="${1:-bench/compare}"
[[ -x "$compare" ]] || compare="$(dirname "$0")/compare"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
out="$tmp/out"

fail() { echo "compare_smoke_test: FAIL: $*" >&2; exit 1; }

"$compare" --help >"$tmp/help.txt" || fail "--help exited $?"
for flag in --engines --workloads --runs --scale --bulk_keys --recovery_keys --overwrite_keys \
    --uncached_cache_mib --uncached_ratio --dir --keep --out_dir --group_commit_window_us; do
  grep -q -- "$flag" "$tmp/help.txt" || fail "--help lacks $flag"
done

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
# Without --group_commit_window_us the Manifold rows are named plain "manifold".
for engine in manifold rocksdb leveldb lmdb sqlite; do
  grep -Eq "^\| [a-z0-9/-]+ \| $engine \|" "$md" || fail "no $engine row in $md"
  if grep -E "^\| [a-z0-9/-]+ \| $engine \| error" "$md"; then fail "$engine reported an error"; fi
done
for row in cfwrite/durable/seq/be read/point commit/8-threads bulk/load recovery/reopen \
    overwrite/random readwhilewriting/read readwhilewriting/write uncached/read; do
  grep -q "^| $row |" "$md" || fail "workload row $row missing from $md"
done
# The report says how bytes to the device and peak RSS were measured on this machine.
grep -q "^- bytes to device" "$md" || fail "$md does not say where bytes to device come from"
grep -q "^- peak RSS" "$md" || fail "$md does not say how peak RSS is measured"
# Columns (awk -F'|' fields): 2 workload, 3 engine, 16 write amp, 17 write amp (calls),
# 18 peak RSS MiB, 19 RSS bound MiB, 20 within bound, 21 notes.
# Rows that write user data have a write amplification; every successful row has a peak RSS.
for engine in manifold rocksdb leveldb lmdb sqlite; do
  for row in overwrite/random readwhilewriting/write bulk/load cfwrite/durable/seq/be; do
    awk -F'|' -v row=" $row " -v engine=" $engine " '
        $2 == row && $3 == engine {
          found = 1
          if ($16 !~ /^ [0-9]+\.[0-9]+( \(wchar\))? $/ || $16 + 0 <= 0) bad = "write amp" $16
          if ($17 !~ /^ [0-9]+\.[0-9]+ $/ || $17 + 0 <= 0) bad = bad " write amp (calls)" $17
          if ($18 !~ /^ [0-9]+( \(job\))? $/ || $18 + 0 <= 0) bad = bad " peak RSS" $18
        }
        END { if (!found || bad != "") { print bad; exit 1 } }' "$md" ||
      fail "$row $engine: missing or bad write amp / peak RSS cell"
  done
done
# Every successful row has the bound on peak RSS (configured cache + write buffers + 64 MiB, so
# at least 64) and a verdict that matches its two numbers.
awk -F'|' '
    $2 ~ /^ [a-z0-9\/-]+ $/ && $4 !~ /error/ && NF >= 21 && $2 != " workload " && $2 !~ /---/ {
      rows++
      if ($19 !~ /^ [0-9]+ $/ || $19 + 0 < 64) { print "bad bound:" $2 $3 $19; bad = 1 }
      verdict = ($18 + 0 <= $19 + 0) ? " yes " : "no"
      if (verdict == " yes " && $20 != " yes ") { print "bad verdict:" $2 $3 $18 $19 $20; bad = 1 }
      if (verdict == "no" && $20 !~ /^ \*\*no \(\+[0-9]+\)\*\* $/) { print "bad verdict:" $2 $3 $20; bad = 1 }
    }
    END { if (bad || rows < 50) { print rows " rows"; exit 1 } }' "$md" ||
  fail "peak RSS bound / within bound columns missing or inconsistent"
# The reopen after a crash says how full each engine's log was and splits open from first read.
for engine in manifold rocksdb leveldb lmdb sqlite; do
  grep -E "^\| recovery/reopen \| $engine \|" "$md" | grep -q "log at the crash: .*open .* ms, first read" ||
    grep -E "^\| recovery/reopen \| $engine \|" "$md" | grep -q "open .* ms, first read.*log at the crash" ||
    fail "recovery/reopen $engine: no log size at the crash or open/first-read split"
done
# The targets of issue 12, as ratios measured in this run.
grep -q "^## Issue 12 targets, measured in this run" "$md" || fail "no issue 12 targets section"
for target in "commit/8-threads): <= RocksDB" "bulk/load write amplification" \
    "recovery/reopen: >= 1x rocksdb" "Manifold peak RSS within"; do
  grep -F "$target" "$md" | grep -Eq "\| (yes|\*\*no\*\*) \|$" ||
    fail "target '$target' not judged in $md"
done
# The data directory's databases are removed after each run.
[[ -z "$(ls -A "$tmp/data" 2>/dev/null)" ]] || fail "databases left behind in $tmp/data"

echo "compare_smoke_test: PASS"
