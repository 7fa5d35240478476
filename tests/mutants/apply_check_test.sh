#!/bin/bash
# Every mutant in tests/mutants/ applies cleanly to the current sources, names the file it
# patches among this test's data, and starts with a header comment saying what it breaks.
set -u
root="${TEST_SRCDIR}/${TEST_WORKSPACE}"
cd "${root}" || exit 1
mapfile -t patches < <(find tests/mutants -name '[0-9]*.patch' | sort)
if [[ "${#patches[@]}" -lt 10 ]]; then
  echo "FAIL: expected at least 10 mutants in tests/mutants, found ${#patches[@]}"
  exit 1
fi
# A copy of the sources with real files (git apply refuses to patch through runfiles symlinks).
tree="$(mktemp -d)"
trap 'rm -rf "${tree}"' EXIT
cp -rL engine "${tree}/"
# The check must refuse a patch whose context is not in the tree.
first_file="$(sed -n 's|^+++ b/||p' "${patches[0]}" | head -n 1)"
{
  echo "diff --git a/${first_file} b/${first_file}"
  echo "--- a/${first_file}"
  echo "+++ b/${first_file}"
  echo "@@ -1,1 +1,1 @@"
  echo "-this line is not in the file"
  echo "+neither is this one"
} > "${tree}/rotten.patch"
if (cd "${tree}" && git apply --check rotten.patch 2> /dev/null); then
  echo "FAIL: git apply --check accepted a patch that does not match ${first_file}"
  exit 1
fi
failed=0
for patch in "${patches[@]}"; do
  name="$(basename "${patch}")"
  mapfile -t files < <(sed -n 's|^+++ b/||p' "${patch}")
  if [[ "${#files[@]}" -eq 0 ]]; then
    echo "FAIL: ${name} patches no file"
    failed=1
    continue
  fi
  for f in "${files[@]}"; do
    if [[ ! -f "${tree}/${f}" ]]; then
      echo "FAIL: ${name} patches ${f}, which is not in the test's data (tests/mutants/BUILD)"
      failed=1
    fi
  done
  header="$(sed '/^diff --git /,$d' "${patch}" | tr '\n' ' ')"  # One line: phrases may wrap.
  if [[ "${header}" != "Mutant ${name%.patch} "* || "${header}" != *"A correct engine must"* ]]; then
    echo "FAIL: ${name} needs a header comment: 'Mutant ${name%.patch} (file, function)', what it"
    echo "      does, and what a correct engine must not do"
    failed=1
  fi
  if ! (cd "${tree}" && git apply --check "${root}/${patch}"); then
    echo "FAIL: ${name} does not apply to the current tree; regenerate it (docs/mutants.md)"
    failed=1
  fi
done
if [[ "${failed}" -ne 0 ]]; then
  exit 1
fi
echo "PASS: ${#patches[@]} mutants apply cleanly"
