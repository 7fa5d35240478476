#!/usr/bin/env bash
# Smoke test of //bench:micro: every benchmark family runs (one instance each, minimal time, a
# small database), the binary exits 0, no benchmark reports an error, and every family appears in
# the output. Usage: micro_smoke_test.sh [path/to/micro]
set -euo pipefail

micro="${1:-bench/micro}"
[[ -x "$micro" ]] || micro="$(dirname "$0")/micro"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
export TMPDIR="$tmp"  # Commit_PutDurablePosix makes its database under $TMPDIR.

# Every family the binary must have. Adding a family? Add it here too (the test also fails when
# the binary lists a family that is missing from this list).
families=(
  Crc32c_Value
  Crc32c_Portable
  PageCodec_EncodeSealLeaf
  PageCodec_VerifyValidateLeaf
  PageCodec_SearchLeaf
  Tree_FillSeq
  Tree_FillRandom
  Tree_GetRandom
  Tree_Scan
  Commit_PutMemFs
  Commit_PutColumnFamilies
  Commit_PutDurablePosix
  Commit_GroupHandoffPosix
  Wal_AppendRecord
  Wal_DecodeBatchRecord
  WriteBuffer_Insert
  WriteBuffer_Get
  Write_CfBatches
)
# One instance of each family (the smallest sizes), which keeps the test short.
filter='^(Crc32c_(Value|Portable)/4096|PageCodec_.*|Tree_(FillSeq|FillRandom|GetRandom)/.*'
filter+='|Tree_Scan/.*/len:10|Commit_.*|Wal_AppendRecord/150|Wal_DecodeBatchRecord'
filter+='|WriteBuffer_(Insert|Get)/10000(/.*)?|Write_CfBatches/.*/shuffled:1/le:1)$'
flags=(--keys=5000 --benchmark_min_time=0.001 --benchmark_color=false)

fail() { echo "micro_smoke_test: FAIL: $*" >&2; exit 1; }

# The families the binary registers must be exactly the expected ones.
"$micro" "${flags[@]}" --benchmark_list_tests=true >"$tmp/list.txt" || fail "listing exited $?"
listed="$(sed -E 's|/.*||' "$tmp/list.txt" | sort -u)"
expected="$(printf '%s\n' "${families[@]}" | sort -u)"
if [[ "$listed" != "$expected" ]]; then
  diff <(echo "$expected") <(echo "$listed") >&2 || true
  fail "the families the binary lists differ from the expected ones (diff above)"
fi

status=0
"$micro" "${flags[@]}" --benchmark_filter="$filter" >"$tmp/out.txt" 2>"$tmp/err.txt" || status=$?
cat "$tmp/out.txt" "$tmp/err.txt"
((status == 0)) || fail "micro exited with status $status"
if grep -q "ERROR OCCURRED" "$tmp/out.txt"; then fail "a benchmark reported an error"; fi
for family in "${families[@]}"; do
  grep -Eq "^${family}(/| )" "$tmp/out.txt" || fail "family $family did not run"
done
# The run must not leave the POSIX database's temporary directory behind.
if compgen -G "$tmp/manifold-bench-*" >/dev/null; then fail "temporary directory left behind"; fi

echo "micro_smoke_test: ${#families[@]} families ran, PASS"
