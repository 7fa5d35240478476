#!/bin/bash
# Every invariant docs/design.md defines ("- **I<n>** ...") is cited (as I<n>) somewhere in the
# code that upholds or checks it, and every citation in code names an invariant that exists. A
# renumbered or deleted invariant, or one nothing enforces any more, fails the build.
set -u

# Prints the problems for design file $1 and source tree $2; returns 1 if there is one.
check() {
  local design="$1" root="$2"
  local defined cited problems=""
  defined="$(grep -oE '^- \*\*I[0-9]+\*\*' "${design}" | grep -oE 'I[0-9]+' | sort -u)"
  if [[ -z "${defined}" ]]; then
    echo "no invariants found in ${design}"
    return 1
  fi
  cited="$(cd "${root}" && grep -RohwE 'I[0-9]+' --include='*.h' --include='*.cc' \
      --include='*.sh' --include='*.bzl' . | sort -u)"
  local inv
  for inv in ${defined}; do
    if ! grep -qx "${inv}" <<< "${cited}"; then
      problems+="${inv} is defined in docs/design.md but cited in no source file"$'\n'
    fi
  done
  for inv in ${cited}; do
    if ! grep -qx "${inv}" <<< "${defined}"; then
      local where
      where="$(cd "${root}" && grep -RnwE "${inv}" --include='*.h' --include='*.cc' \
          --include='*.sh' --include='*.bzl' . | head -3)"
      problems+="${inv} is cited but not defined in docs/design.md:"$'\n'"${where}"$'\n'
    fi
  done
  if [[ -n "${problems}" ]]; then
    printf '%s' "${problems}"
    return 1
  fi
  return 0
}

# The check must catch an uncited invariant and a citation of a missing one.
planted="$(mktemp -d)"
trap 'rm -rf "${planted}"' EXIT
mkdir -p "${planted}/src"
printf -- '- **I1** one.\n- **I2** two.\n' > "${planted}/design.md"
printf 'int x;  // I1\nint y;  // I3 is gone\n' > "${planted}/src/a.cc"
out="$(check "${planted}/design.md" "${planted}/src")"
if [[ "${out}" != *"I2 is defined in docs/design.md but cited in no source file"* ||
      "${out}" != *"I3 is cited but not defined"* ]]; then
  echo "FAIL: the check missed a planted problem; it said:"
  echo "${out}"
  exit 1
fi

root="${TEST_SRCDIR}/${TEST_WORKSPACE}"
design="${root}/docs/design.md"
for must in "${design}" "${root}/engine/db/db_impl.cc" "${root}/sim/runner.cc" \
    "${root}/model/model.cc"; do
  if [[ ! -f "${must}" ]]; then
    echo "FAIL: ${must} is not in the test's data"
    exit 1
  fi
done
if ! out="$(check "${design}" "${root}")"; then
  echo "FAIL: invariants and their citations disagree:"
  echo "${out}"
  exit 1
fi
echo "PASS: $(grep -cE '^- \*\*I[0-9]+\*\*' "${design}") invariants, each cited in code; every citation exists"
