#!/bin/bash
# Every C++ source of the project is formatted as .clang-format says (Google style, 100 columns).
# Fix with: clang-format -i $(git ls-files '*.cc' '*.h')
set -u
root="${TEST_SRCDIR}/${TEST_WORKSPACE}"
cd "${root}" || exit 1
if [[ ! -f .clang-format ]]; then
  echo "FAIL: .clang-format is not in the test's data"
  exit 1
fi
# The check must refuse a badly formatted file.
planted="$(mktemp -d)"
trap 'rm -rf "${planted}"' EXIT
cp .clang-format "${planted}/"
printf 'int  f( int x ){return x;}\n' > "${planted}/bad.cc"
if clang-format --dry-run -Werror "${planted}/bad.cc" 2> /dev/null; then
  echo "FAIL: clang-format accepted a badly formatted file"
  exit 1
fi
mapfile -t files < <(find engine sim model faults tests bench examples \( -name '*.cc' -o -name '*.h' \) | sort)
if [[ "${#files[@]}" -lt 100 ]]; then
  echo "FAIL: expected the project's sources, found ${#files[@]} files"
  exit 1
fi
if ! clang-format --dry-run -Werror "${files[@]}"; then
  echo "FAIL: the files above are not formatted; run clang-format -i on them"
  exit 1
fi
echo "PASS: ${#files[@]} sources formatted"
