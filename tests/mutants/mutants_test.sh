#!/bin/bash
# Runs every mutant through run_mutants.sh; fails if any survives. The runner needs the real
# git checkout (it copies HEAD and runs bazel there), found through the runfiles symlink.
set -u
runner="$(readlink -f "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/mutants/run_mutants.sh")"
if [[ ! -x "${runner}" ]]; then
  echo "FAIL: run_mutants.sh not found in the runfiles"
  exit 1
fi
# Bazel sets HOME to a scratch directory; the runner's bazel must use the user's output base and
# the shared disk cache.
export HOME="$(getent passwd "$(id -u)" | cut -d: -f6)"
# A fixed scratch path (not TEST_TMPDIR): its bazel output base survives between runs.
exec "${runner}" --scratch "/tmp/manifold-mutants-$(id -u)" \
  --out "${TEST_UNDECLARED_OUTPUTS_DIR:-/tmp}/mutants.md"
