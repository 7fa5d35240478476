#!/usr/bin/env bash
# Builds the corruption fuzzer (tests/fuzz/corruption_fuzzer.cc) with clang's libFuzzer,
# AddressSanitizer and UndefinedBehaviorSanitizer, and runs it.
#
#   tests/fuzz/run.sh [SECONDS] [extra libFuzzer flags...]     # default 300 seconds
#
# Environment: FUZZ_OUT (build and corpus directory, default /tmp/manifold-fuzz), JOBS (libFuzzer
# -jobs and -workers; unset: one process), MANIFOLD_FUZZ_STRICT=1 (also report the pending
# issue-11 log losses).
# A crash leaves crash-<sha1> in FUZZ_OUT; replay it with
#   $FUZZ_OUT/corruption_fuzzer $FUZZ_OUT/crash-<sha1>
# or under gcc: ./bazelw run //tests:corruption_fuzzer_replay_test -- $FUZZ_OUT/crash-<sha1>
#
# A script rather than a Bazel config: with Bazel 4.2.3's autodetected local toolchain, switching
# the compiler (--repo_env=CC=clang) re-runs the local_config_cc repository rule, which rebuilds
# every target of the workspace each time the configuration changes back and forth.
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds="${1:-300}"
shift || true
out="${FUZZ_OUT:-/tmp/manifold-fuzz}"
mkdir -p "$out/corpus"

# Every engine source (no tests, tools or examples), the damage library and sim::Rng.
mapfile -t srcs < <(ls engine/btree/*.cc engine/db/*.cc engine/env/*.cc engine/util/*.cc \
  engine/wal/*.cc | grep -v '_test\.cc$')
srcs+=(sim/workload.cc tests/corruption_damage.cc tests/fuzz/corruption_fuzzer.cc)

flags=(-std=c++20 -O1 -g -fno-omit-frame-pointer -I. -Iengine/include -pthread
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
if [[ ! -x "$out/corruption_fuzzer" || -n "$(find "${srcs[@]}" engine tests sim -newer \
  "$out/corruption_fuzzer" -name '*.[ch]*' -print -quit)" ]]; then
  echo "run.sh: building $out/corruption_fuzzer" >&2
  clang++ "${flags[@]}" "${srcs[@]}" -o "$out/corruption_fuzzer"
fi

# Seed corpus: an empty overwrite of each base, and one short overwrite of each base's data file
# and first segment.
for base in 0 1 2 3 4 5; do
  printf "\\x$(printf %02x "$base")" > "$out/corpus/base$base"
  printf "\\x$(printf %02x "$base")\\x00\\x10\\x00\\x00\\x03ABCD" > "$out/corpus/base${base}_data"
  printf "\\x$(printf %02x "$base")\\x01\\x20\\x00\\x00\\x03WXYZ" > "$out/corpus/base${base}_log"
done

parallel=()
if [[ -n "${JOBS:-}" ]]; then parallel=(-jobs="$JOBS" -workers="$JOBS"); fi
cd "$out"
exec ./corruption_fuzzer -max_total_time="$seconds" "${parallel[@]}" -print_final_stats=1 \
  -max_len=512 "$@" corpus
