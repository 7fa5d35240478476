#!/usr/bin/env bash
# End-to-end test of the `manifold` tool: drives the binary on a fresh database in $TEST_TMPDIR
# and checks stdout, stderr and exit codes of every command. Exits non-zero on the first mismatch.
set -euo pipefail

tool="$(dirname "$0")/manifold"
[[ -x "$tool" ]] || tool="${TEST_SRCDIR:-}/${TEST_WORKSPACE:-manifold}/engine/tools/manifold"
[[ -x "$tool" ]] || { echo "FAIL: manifold binary not found" >&2; exit 1; }

tmp="${TEST_TMPDIR:-$(mktemp -d)}"
db="$tmp/db"
out="$tmp/stdout"
err="$tmp/stderr"
rm -rf "$db"
: >"$out"
: >"$err"
checks=0

fail() {
  echo "FAIL: $*" >&2
  echo "--- stdout:" >&2
  cat "$out" >&2
  echo "--- stderr:" >&2
  cat "$err" >&2
  exit 1
}

# run WANT_EXIT ARGS...: runs the tool with stdout in $out and stderr in $err; checks the exit code.
run() {
  local want="$1"
  shift
  local rc=0
  "$tool" "$@" >"$out" 2>"$err" || rc=$?
  [[ "$rc" == "$want" ]] || fail "manifold $*: exit code $rc, want $want"
  checks=$((checks + 1))
}

# Stdout is exactly $1 (trailing newlines ignored).
out_is() {
  [[ "$(cat "$out")" == "$1" ]] || fail "stdout is not exactly:"$'\n'"$1"
}

# Stdout / stderr contains the fixed string $1.
out_has() { grep -qF -- "$1" "$out" || fail "stdout lacks: $1"; }
err_has() { grep -qF -- "$1" "$err" || fail "stderr lacks: $1"; }

# Stdout parses as one JSON document (when python3 is available; grep checks cover the shape).
out_is_json() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$out" || fail "stdout is not JSON"
  fi
}

# ---- Help and usage errors ----------------------------------------------------------------
run 0 --help
out_has "Usage:"
out_has "Exit codes:"
out_has '\u00XX'
run 0 --version
out_has "manifold 0."
run 0 "$db" put --help
out_has "--value-file"
run 0 "$db" scan --help
out_has "--reverse"
run 0 "$db" cf drop --help
out_has "NAME"
run 2
err_has "manifold: "
run 2 "$db"
err_has "manifold: "
run 2 "$db" bogus
err_has "manifold: unknown command 'bogus'"
run 2 "$db" cf bogus
run 2 "$db" get --no-such-flag k
run 2 "$db" get
err_has "KEY is required"

# ---- Missing database: a clear error, nothing created ----------------------------------
run 3 "$tmp/no-such-db" get k
err_has "manifold: NotFound: "
[[ ! -e "$tmp/no-such-db" ]] || fail "get created the missing database directory"
run 3 "$tmp/no-such-db" put k v
[[ ! -e "$tmp/no-such-db" ]] || fail "put created the missing database directory"

# ---- create ---------------------------------------------------------------------------------
run 2 "$db" create --page-bytes 1000
run 0 "$db" create --page-bytes 8192
out_has "created"
run 3 "$db" create
err_has "manifold: AlreadyExists: "

# ---- put / get --------------------------------------------------------------------------------
for kv in "a 1" "ab 2" "abc 3" "b 4" "c 5"; do
  run 0 "$db" put "${kv% *}" "${kv#* }"
done
run 0 "$db" get a
out_is "1"
run 0 "$db" put a one
run 0 "$db" get a
out_is "one"
run 0 "$db" get --json a
out_is '{"key":"a","value":"one"}'
run 1 "$db" get zzz
err_has "not found: zzz"

# --hex in and 0x<hex> out; binary bytes in JSON as \u00XX.
run 0 "$db" put --hex 00ff 0a0b
run 0 "$db" get --hex 0x00ff
out_is "0x0a0b"
run 0 "$db" get --json --hex 00ff
out_is '{"key":"\u0000\u00ff","value":"\u000a\u000b"}'
out_is_json
run 2 "$db" put --hex zz 00
err_has "not hex"

# --value-file; quotes and backslashes in JSON.
printf 'say "hi" \\ bye' >"$tmp/value"
run 0 "$db" put q --value-file "$tmp/value"
run 0 "$db" get q
out_is 'say "hi" \ bye'
run 0 "$db" get q --json
out_is '{"key":"q","value":"say \"hi\" \\ bye"}'
out_is_json
run 2 "$db" put q v --value-file "$tmp/value"
run 2 "$db" put q
run 3 "$db" put q --value-file "$tmp/no-such-file"

# An empty value: the close's checkpoint writes it into a leaf (issue 11 item 7: that once passed
# a null pointer to memcpy, fatal under --config=ubsan).
run 0 "$db" put e ''
run 0 "$db" get --json e
out_is '{"key":"e","value":""}'
run 0 "$db" delete e

# Arguments starting with '-' after '--'.
run 0 "$db" put -- -k -v
run 0 "$db" get -- -k
out_is "-v"
run 0 "$db" delete -- -k
run 0 "$db" delete q

# ---- scan ---------------------------------------------------------------------------------------
run 0 "$db" scan
out_is $'0x00ff\t0x0a0b\na\tone\nab\t2\nabc\t3\nb\t4\nc\t5'
run 0 "$db" scan --prefix ab
out_is $'ab\t2\nabc\t3'
run 0 "$db" scan --prefix a --keys-only
out_is $'a\nab\nabc'
run 0 "$db" scan --from ab --to b
out_is $'ab\t2\nabc\t3'
run 0 "$db" scan --from ab
out_is $'ab\t2\nabc\t3\nb\t4\nc\t5'
run 0 "$db" scan --to ab --keys-only
out_is $'0x00ff\na'
run 0 "$db" scan --reverse --keys-only
out_is $'c\nb\nabc\nab\na\n0x00ff'
run 0 "$db" scan --reverse --limit 2
out_is $'c\t5\nb\t4'
run 0 "$db" scan --reverse --from ab --to c --keys-only
out_is $'b\nabc\nab'
run 0 "$db" scan --reverse --prefix ab --keys-only
out_is $'abc\nab'
run 0 "$db" scan --limit 0
out_is ""
run 0 "$db" scan --prefix zz
out_is ""
run 0 "$db" scan --prefix a --from abc --keys-only
out_is $'abc'
run 0 "$db" scan --hex --prefix 00 --keys-only
out_is "0x00ff"
run 2 "$db" scan --limit -1
run 0 "$db" scan --json --prefix ab
out_is_json
out_has '{"column_family":"default","entries":['
out_has '{"key":"ab","value":"2"}'
out_has '{"key":"abc","value":"3"}'
out_has '"count":2}'
run 0 "$db" scan --json --keys-only --prefix zz
out_is '{"column_family":"default","entries":[],"count":0}'

# ---- column families ----------------------------------------------------------------------
run 0 "$db" cf create users
run 3 "$db" cf create users
err_has "manifold: AlreadyExists: "
run 0 "$db" cf list
out_is $'default\nusers'
run 0 "$db" cf list --json
out_is '{"column_families":["default","users"]}'
run 0 "$db" put --cf users a alice
run 0 "$db" get --cf users a
out_is "alice"
run 0 "$db" get a
out_is "one"
run 0 "$db" scan --cf users
out_is $'a\talice'
run 1 "$db" get --cf nope a
err_has "manifold: NotFound: "
run 3 "$db" cf drop default
err_has "manifold: InvalidArgument: "
run 0 "$db" cf create tmp
run 0 "$db" put --cf tmp k v
run 0 "$db" cf drop tmp
run 1 "$db" get --cf tmp k
run 1 "$db" cf drop tmp
run 0 "$db" cf list
out_is $'default\nusers'

# ---- delete -------------------------------------------------------------------------------
run 0 "$db" delete abc
run 1 "$db" get abc
err_has "not found: abc"
[[ ! -s "$out" ]] || fail "get of a deleted key printed a value"
run 0 "$db" scan --prefix ab --keys-only
out_is "ab"

# ---- verify, stats, dump --------------------------------------------------------------------
run 0 "$db" verify
out_has "verify OK"
out_has "problems: 0"
run 0 "$db" verify --json
out_is_json
out_has '"ok":true'
out_has '"problems":[]'
out_has '"pages_checked":'

run 0 "$db" stats
for field in page_bytes pages_read pages_written bytes_read bytes_written syncs commits \
    cache_hits cache_misses cache_bytes file_bytes pages_total pages_free sequence; do
  out_has "$field: "
done
out_has "page_bytes: 8192"
run 0 "$db" stats --json
out_is_json
out_has '{"page_bytes":8192,'
out_has '"sequence":'

run 0 "$db" dump
out_is $'[default]\n0x00ff\t0x0a0b\na\tone\nab\t2\nb\t4\nc\t5\n[users]\na\talice'
run 0 "$db" dump --json
out_is_json
out_has '{"column_families":['
out_has '{"name":"default","entries":['
out_has '{"name":"users","entries":['
out_has '{"key":"a","value":"alice"}'
out_has '{"key":"\u0000\u00ff","value":"\u000a\u000b"}'

# Read-only commands leave the data as it was.
run 0 "$db" get a
out_is "one"

# ---- No database at the path: NotFound, and nothing on disk changes -------------------------
# Every entry under $1 with its type, size, mtime and content hash (empty if $1 does not exist).
state() {
  { find "$1" -printf '%p %y %s %T@\n' 2>/dev/null || true; } | sort
  { find "$1" -type f -exec md5sum {} + 2>/dev/null || true; } | sort
}
commands=("get k" "scan" "cf list" "stats" "verify" "dump" "put k v" "delete k" "cf create x"
  "cf drop x")
places="$tmp/places"
rm -rf "$places"
mkdir -p "$places/empty" "$places/other"
echo "notes" >"$places/other/notes.txt"
echo "a file" >"$places/file"
for place in missing empty other file; do
  for command in "${commands[@]}"; do
    before="$(state "$places/$place")"
    # shellcheck disable=SC2086  # $command is several words on purpose.
    run 3 "$places/$place" $command
    err_has "manifold: NotFound: "
    [[ "$(state "$places/$place")" == "$before" ]] ||
      fail "manifold $place $command changed $places/$place"
  done
done
err_has "it is a file, not a directory"
run 3 "$places/other" get k
err_has "no database in $places/other (no data file MANIFOLD"
[[ ! -e "$places/other/LOCK" ]] || fail "a read command left a LOCK file"
before="$(state "$places/file")"
run 3 "$places/file" create
err_has "it is a file, not a directory"
[[ "$(state "$places/file")" == "$before" ]] || fail "create changed a regular file"

# ---- A data file missing beside log segments: Corruption, nothing touched --------------------
orphan="$tmp/orphan"
rm -rf "$orphan"
cp -a "$db" "$orphan"
run 0 "$orphan" put fresh 1  # A log segment stays beside the data file after the close.
mv "$orphan/MANIFOLD" "$tmp/orphan.MANIFOLD"
ls "$orphan" | grep -q '^wal-' || fail "no log segment left to test with"
for command in "${commands[@]}" "create"; do
  before="$(state "$orphan")"
  want=3
  [[ "$command" == "verify" ]] && want=1  # Finding corruption is verify's job.
  # shellcheck disable=SC2086
  run "$want" "$orphan" $command
  err_has "manifold: Corruption: the data file $orphan/MANIFOLD is missing"
  err_has "Nothing was created or changed"
  [[ "$(state "$orphan")" == "$before" ]] || fail "manifold orphan $command changed the directory"
done
mv "$tmp/orphan.MANIFOLD" "$orphan/MANIFOLD"
run 0 "$orphan" get fresh
out_is "1"

# ---- export / load / backup: bit-for-bit round trips ------------------------------------------
xdb="$tmp/xdb"
rm -rf "$xdb" "$tmp/xdb2" "$tmp/xdb3" "$tmp/xbk"
run 0 "$xdb" create
run 0 "$xdb" put --hex 00090aff5c0d22 00ff0a09
run 0 "$xdb" put --hex 0a 00
run 0 "$xdb" put a b
run 0 "$xdb" export -o "$tmp/x.jsonl"
run 0 "$xdb" export --format tsv -o "$tmp/x.tsv"
[[ "$(cat "$tmp/x.tsv")" == '\x00\t\n\xff\\\r"'$'\t''\x00\xff\n\t'$'\n''\n'$'\t''\x00'$'\n''a'$'\t''b' ]] ||
  fail "tsv export is not as documented: $(cat -A "$tmp/x.tsv")"
run 0 "$tmp/xdb2" create
run 0 "$tmp/xdb2" load "$tmp/x.jsonl"
err_has "loaded 3 keys"
run 0 "$tmp/xdb2" export --format tsv
cmp -s "$out" "$tmp/x.tsv" || fail "jsonl load then tsv export differs from the tsv export"
run 0 "$tmp/xdb3" create
run 0 "$tmp/xdb3" load --format tsv --batch-keys 1 "$tmp/x.tsv"
run 0 "$tmp/xdb3" export
cmp -s "$out" "$tmp/x.jsonl" || fail "tsv load then jsonl export differs from the jsonl export"
run 0 "$tmp/xdb3" get --hex 00090aff5c0d22
out_is "0x00ff0a09"
# A bad line: the error names the line and what was committed; later lines are not applied.
printf '{"key":"p","value":"1"}\n{"key":"q"}\n{"key":"r","value":"3"}\n' >"$tmp/bad.jsonl"
run 3 "$tmp/xdb3" load --batch-keys 1 "$tmp/bad.jsonl"
err_has "line 2: column 11:"
err_has "lines 1..1 (1 keys) were committed"
run 0 "$tmp/xdb3" get p
run 1 "$tmp/xdb3" get r
printf 'k\tv\\q\n' >"$tmp/bad.tsv"
run 3 "$tmp/xdb3" load --format tsv "$tmp/bad.tsv"
err_has "line 1: column 4: bad escape"
err_has "nothing was committed"
run 1 "$tmp/xdb3" get k
run 2 "$tmp/xdb3" load --format csv "$tmp/bad.tsv"
# backup: a new database holding the same data.
run 0 "$xdb" cf create side
run 0 "$xdb" put --cf side s 1
run 0 "$xdb" backup "$tmp/xbk"
out_has "verified"
run 0 "$tmp/xbk" dump
dumped="$(cat "$out")"
run 0 "$xdb" dump
[[ "$(cat "$out")" == "$dumped" ]] || fail "backup dump differs from the source dump"
run 3 "$xdb" backup "$tmp/xbk"
err_has "AlreadyExists"
# stats: every field of Stats.
run 0 "$xdb" stats
for field in read_retries log_records log_bytes log_syncs log_sync_commits \
    commits_per_sync_histogram log_segments_created log_segments_recycled log_records_replayed \
    log_records_salvage_dropped checkpoints checkpoint_us_total checkpoint_us_max \
    checkpoint_sequence dirty_bytes writer_stall_us writer_stalls; do
  out_has "$field: "
done
run 0 "$xdb" stats --json
out_is_json
run 0 "$xdb" --salvage --ignore-damaged-header-slot get a
out_is "b"

# ---- --salvage on a damaged log ---------------------------------------------------------------
# 40 durable puts, then an exit without a close (no final checkpoint): the log holds them all and
# recovery must replay it. One flipped byte in the middle of the records damages one of them; the
# later records vouch that it was durable, so the open refuses with Corruption and names the
# option (and the tool's flag) that opens anyway.
writer="$(dirname "$0")/crashing_writer"
[[ -x "$writer" ]] || writer="${TEST_SRCDIR:-}/${TEST_WORKSPACE:-manifold}/engine/tools/crashing_writer"
[[ -x "$writer" ]] || fail "crashing_writer binary not found"
sdb="$tmp/salvage-db"
rm -rf "$sdb"
log_bytes="$("$writer" "$sdb" 40 | sed -n 's/^log_bytes //p')"
[[ "$log_bytes" =~ ^[0-9]+$ && "$log_bytes" -gt 400 ]] || fail "crashing_writer: log_bytes '$log_bytes'"
segment="$(find "$sdb" -name 'wal-*.log' | sort | tail -n 1)"
[[ -n "$segment" ]] || fail "no log segment in $sdb"
# Stats::log_bytes counts every segment (and control records), so it is no offset within the
# newest one. The segment file's own size is no guide either: it is preallocated in whole 64 KiB
# granules (I22), and in a new database (no segment reused) the part not yet written is zeros.
# So the records end at the file's last nonzero byte; flip the byte halfway there.
records_end="$(od -An -v -tu1 -w1 "$segment" | awk '$1 != 0 { last = NR } END { print last + 0 }')"
[[ "$records_end" -gt 400 && "$records_end" -le "$(stat -c %s "$segment")" ]] ||
  fail "the records of $segment end at byte $records_end"
offset=$((records_end / 2))
byte="$(od -An -tu1 -j "$offset" -N1 "$segment" | tr -d ' ')"
printf "\\$(printf '%03o' $((byte ^ 0x5a)))" | dd of="$segment" bs=1 seek="$offset" conv=notrunc status=none
[[ "$(od -An -tu1 -j "$offset" -N1 "$segment" | tr -d ' ')" == "$((byte ^ 0x5a))" ]] ||
  fail "the byte at $offset of $segment was not flipped"
for command in "get k000" "dump" "stats"; do
  # shellcheck disable=SC2086
  run 3 "$sdb" $command
  err_has "manifold: Corruption: "
  err_has "Options::wal_salvage opens with the records up to"
  err_has "To open that way with this tool: manifold $sdb --salvage"
done
# With --salvage it opens with the records before the damage: a prefix k000.. of the commits,
# every value intact, and the rest dropped (counted in stats).
run 0 "$sdb" --salvage get k000
out_is "v000"
run 0 "$sdb" --salvage scan
kept="$(wc -l <"$out")"
[[ "$kept" -ge 1 && "$kept" -lt 40 ]] || fail "--salvage kept $kept of 40 commits"
expected=""
for ((i = 0; i < kept; i++)); do expected+="$(printf 'k%03d\tv%03d' "$i" "$i")"$'\n'; done
[[ "$(cat "$out")"$'\n' == "$expected" ]] || fail "--salvage did not keep a prefix k000..: want"$'\n'"$expected"
run 0 "$sdb" --salvage stats
dropped="$(sed -n 's/^log_records_salvage_dropped: //p' "$out")"
[[ "$dropped" =~ ^[0-9]+$ && "$dropped" -ge 1 && $((kept + dropped)) -le 40 ]] ||
  fail "log_records_salvage_dropped '$dropped' with $kept of 40 kept"

# ---- Another process has the database open --------------------------------------------------
# This shell takes the LOCK file's flock as an application would (fd 9; the tool opens its own
# descriptor, so the inherited one does not matter).
exec 9<"$db/LOCK"
flock -x -n 9 || fail "could not take $db/LOCK"
for command in "get a" "scan" "dump" "verify"; do
  # shellcheck disable=SC2086
  run 3 "$db" $command
  err_has "manifold: Busy: "
  err_has "retry once the process that has it open has closed it"
done
run 3 "$db" put a two
err_has "close the other user first"
run 3 "$db" backup "$tmp/busy-backup"
err_has "cannot share a database with a writer"
# A reader (shared lock) lets other readers in and keeps writers out.
flock -s -n 9 || fail "could not downgrade $db/LOCK"
run 0 "$db" get a
out_is "one"
run 3 "$db" put a two
err_has "manifold: Busy: "
flock -u 9
exec 9<&-
run 0 "$db" get a
out_is "one"

echo "manifold_tool_test: ${checks} commands checked, all passed"
