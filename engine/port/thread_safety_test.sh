#!/bin/bash
# Clang's lock analysis (-Wthread-safety) over every engine source, as errors. GCC, which builds
# everything else, ignores the annotations of thread_annotations.h; this test is what makes
# them mean something. Runs both port layers: the production wrappers and the scheduler's.
set -u
root="${TEST_SRCDIR}/${TEST_WORKSPACE}"
cd "${root}" || exit 1
readonly FLAGS=(-fsyntax-only -std=c++20 -Wthread-safety -Werror=thread-safety -I. -Iengine/include)

if ! command -v clang++ > /dev/null; then
  echo "FAIL: clang++ is not installed (./bazelw installs the clang package)"
  exit 1
fi
# The analysis must be live: a planted unguarded write is an error.
planted="$(mktemp -d)"
trap 'rm -rf "${planted}"' EXIT
cat > "${planted}/bad.cc" <<'CC'
#include "engine/port/sync.h"
struct S {
  manifold::port::Mutex mu;
  int value MANIFOLD_GUARDED_BY(mu) = 0;
  void Set() { value = 1; }
};
CC
if clang++ "${FLAGS[@]}" "${planted}/bad.cc" 2> /dev/null; then
  echo "FAIL: clang accepted a write to a guarded member without its mutex"
  exit 1
fi

mapfile -t files < <(find engine -name '*.cc' ! -name '*_test.cc' | sort)
if [[ "${#files[@]}" -lt 20 ]]; then
  echo "FAIL: expected the engine's sources, found ${#files[@]}"
  exit 1
fi
# Bazel shards (shard_count in BUILD): each shard checks every TEST_TOTAL_SHARDS-th file.
if [[ -n "${TEST_TOTAL_SHARDS:-}" ]]; then
  [[ -n "${TEST_SHARD_STATUS_FILE:-}" ]] && touch "${TEST_SHARD_STATUS_FILE}"
  mine=()
  for i in "${!files[@]}"; do
    if (( i % TEST_TOTAL_SHARDS == TEST_SHARD_INDEX )); then mine+=("${files[$i]}"); fi
  done
  files=("${mine[@]}")
fi
status=0
for variant in "" "-DMANIFOLD_SIM_SCHEDULER=1"; do
  # shellcheck disable=SC2086  # $variant is empty or one flag.
  if ! printf '%s\n' "${files[@]}" | xargs -P 2 -n 4 clang++ "${FLAGS[@]}" ${variant}; then
    echo "FAIL: lock analysis errors above (${variant:-production port layer})"
    status=1
  fi
done
[[ "${status}" -eq 0 ]] && echo "PASS: ${#files[@]} engine sources (this shard), both port layers, no lock-analysis finding"
exit "${status}"
