#!/bin/bash
# The byte-by-byte format tables in docs/ ("| offset | size | field |") add up: each row starts
# where the previous one ended, and a section whose heading states a size ("(every page, 24
# bytes)") ends exactly there. Rows whose offset or size is not a plain number (a variable-length
# field) end the run of checked rows.
set -u

# Prints the problems in markdown file $1; returns 1 if there is one.
check() {
  awk -v file="$1" '
    function flush() {
      if (in_table && stated != "" && have_prev && prev_end != stated) {
        printf "%s:%d: the table of \"%s\" ends at byte %d, its heading says %d bytes\n",
            file, table_line, heading, prev_end, stated
        bad = 1
      }
      in_table = 0; have_prev = 0
    }
    /^#/ {
      flush(); heading = $0; stated = ""
      if (match($0, /[0-9]+ bytes\)/)) stated = substr($0, RSTART, RLENGTH - 7) + 0
      next
    }
    /^\| offset \| size \|/ { flush(); in_table = 1; table_line = NR; next }
    in_table && /^\| ---/ { next }
    in_table && /^\|/ {
      n = split($0, cell, "|")
      off = cell[2]; size = cell[3]
      gsub(/^ +| +$/, "", off); gsub(/^ +| +$/, "", size)
      if (off !~ /^[0-9]+$/ || size !~ /^[0-9]+$/) { have_prev = 0; stated = ""; next }
      if (have_prev && off + 0 != prev_end) {
        printf "%s:%d: field at offset %s, but the previous field ends at %d\n", file, NR, off,
            prev_end
        bad = 1
      }
      prev_end = off + size; have_prev = 1
      next
    }
    in_table { flush() }
    END { flush(); exit bad }
  ' "$1"
}

planted="$(mktemp -d)"
trap 'rm -rf "${planted}"' EXIT
printf '## Good (12 bytes)\n\n| offset | size | field |\n| --- | --- | --- |\n| 0 | 4 | a |\n| 4 | 8 | b |\n' \
    > "${planted}/good.md"
printf '## Gap\n\n| offset | size | field |\n| --- | --- | --- |\n| 0 | 4 | a |\n| 6 | 2 | b |\n' \
    > "${planted}/gap.md"
printf '## Short (16 bytes)\n\n| offset | size | field |\n| --- | --- | --- |\n| 0 | 8 | a |\n\ntext\n' \
    > "${planted}/short.md"
if ! check "${planted}/good.md" > /dev/null; then
  echo "FAIL: a correct table was refused"
  exit 1
fi
for bad in gap short; do
  if check "${planted}/${bad}.md" > /dev/null; then
    echo "FAIL: the check missed the planted ${bad} table"
    exit 1
  fi
done

root="${TEST_SRCDIR}/${TEST_WORKSPACE}/docs"
status=0
tables=0
for doc in "${root}"/*.md; do
  tables=$((tables + $(grep -c '^| offset | size |' "${doc}")))
  check "${doc}" || status=1
done
if [[ "${tables}" -lt 4 ]]; then
  echo "FAIL: expected at least 4 offset/size tables in docs/, found ${tables}"
  exit 1
fi
[[ "${status}" -eq 0 ]] && echo "PASS: ${tables} byte tables add up"
exit "${status}"
