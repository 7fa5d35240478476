#!/bin/bash
# Checks model/spin/manifold.pml with spin (model/spin/README.md).
#
#   spin_test.sh clean MODEL [-DNAME=VALUE ...]       the model as the engine is: spin must report
#                                                     errors: 0 over the whole state space
#   spin_test.sh planted MODEL FAULT_POINT_H [-D...]  each planted bug: spin must find it, and the
#                                                     property it breaks must be the expected one
#   spin_test.sh large MODEL [-D...]                  clean, at a larger bound, bitstate hashing
#   spin_test.sh wide MODEL [-D...]                   clean, at a larger bound, exhaustive with
#                                                     state compression (pan's -DCOLLAPSE)
#
# Prints, for every run, the states stored, transitions, depth reached and the time taken.
set -u

mode="$1"
model="$2"
shift 2
fault_point_h=""
if [[ "${mode}" == "planted" ]]; then
  fault_point_h="$(realpath "$1")"
  shift
fi
bounds=("$@")

work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/spin.XXXXXX")"
trap 'rm -rf "${work}"' EXIT
cp "${model}" "${work}/manifold.pml"
cd "${work}" || exit 1

if ! command -v spin >/dev/null 2>&1; then
  echo "FAIL: spin is not installed (Debian package spin; ./bazelw installs it)"
  exit 1
fi

# Builds pan for the given -D flags (spin's and gcc's) into ./pan; $1: extra gcc flags.
build_pan() {
  local cflags="$1"
  shift
  rm -f pan pan.c pan.* ./*.trail
  if ! spin "$@" -a manifold.pml >spin.out 2>&1; then
    echo "FAIL: spin -a $* manifold.pml"
    cat spin.out
    return 1
  fi
  # shellcheck disable=SC2086  # cflags is a list of flags.
  if ! gcc -w ${cflags} -o pan pan.c >gcc.out 2>&1; then
    echo "FAIL: gcc ${cflags} pan.c"
    cat gcc.out
    return 1
  fi
}

# Prints the state counts and time of pan's output $1, prefixed by $2.
summary() {
  local out="$1" label="$2"
  local stored transitions depth elapsed errors
  stored="$(grep -oE '[0-9.e+]+ states, stored' "${out}" | awk '{print $1}')"
  transitions="$(grep -oE '[0-9.e+]+ transitions' "${out}" | awk '{print $1}')"
  depth="$(grep -oE 'depth reached [0-9]+' "${out}" | awk '{print $3}')"
  errors="$(grep -oE 'errors: [0-9]+' "${out}" | awk '{print $2}')"
  elapsed="$(grep -oE 'elapsed time [0-9.e+]+' "${out}" | awk '{print $3}')"
  printf '%s: errors %s, states stored %s, transitions %s, depth %s, %s s\n' "${label}" \
    "${errors:-?}" "${stored:-?}" "${transitions:-?}" "${depth:-?}" "${elapsed:-?}"
}

# Runs pan with flags $@ into pan.out; returns 0 when the search finished with errors: 0.
run_clean() {
  ./pan "$@" >pan.out 2>&1
  if ! grep -q 'errors: 0' pan.out; then return 1; fi
  # The whole state space, with the properties on: assertions and invalid end states (a thread
  # left blocked forever is a deadlock).
  grep -qP 'assertion violations\t\+' pan.out || return 1
  grep -qP 'invalid end states\t\+' pan.out || return 1
  if grep -qE 'max search depth too small|out of memory|search not completed' pan.out; then
    return 1
  fi
  return 0
}

# Plants variant $1 (a -D macro) in ./manifold.pml and requires spin to find property $2 broken
# (end_state: a thread blocked forever); prints the search's summary and what it found.
check_variant() {
  local macro="$1" want="$2" got=""
  # Unoptimized: each search stops at its first error, so compiling dominates.
  build_pan "-O0 -DSAFETY -DMEMLIM=4096" "-D${macro}" "${bounds[@]}" || return 1
  ./pan -m100000 >pan.out 2>&1
  summary pan.out "${macro}"
  if grep -q '^pan:1: invalid end state' pan.out; then
    got="end_state"
  else
    # Check(name, ...) in manifold.pml: the failed assertion's text starts with the name.
    got="$(grep -m1 -oE '^pan:1: assertion violated \(+[A-Za-z0-9_]+' pan.out |
      sed -E 's/.*\(+//')"
  fi
  if [[ "${got}" == "${want}" ]]; then
    echo "  found: ${want}  ($(grep -m1 -E '^pan:1: ' pan.out))"
  else
    echo "FAIL: ${macro}: expected spin to find ${want} broken, got '${got:-nothing}'"
    cat pan.out
    return 1
  fi
}

case "${mode}" in
  clean | large | wide)
    cflags="-O1 -DSAFETY -DMEMLIM=4096"
    pan_flags=(-m100000)
    if [[ "${mode}" == "large" ]]; then
      cflags="-O1 -DSAFETY -DBITSTATE -DMEMLIM=4096"
      pan_flags=(-m100000 -w32)
    elif [[ "${mode}" == "wide" ]]; then
      cflags="-O1 -DSAFETY -DCOLLAPSE -DMEMLIM=4096"
    fi
    build_pan "${cflags}" "${bounds[@]}" || exit 1
    start="$(date +%s.%N)"
    run_clean "${pan_flags[@]}"
    ok=$?
    end="$(date +%s.%N)"
    summary pan.out "clean model ${bounds[*]}"
    awk -v a="${start}" -v b="${end}" 'BEGIN { printf "wall time %.1f s\n", b - a }'
    grep -E 'State-vector|hash factor|total actual memory|unreached in proctype|of [0-9]+ states\)' pan.out
    if ((ok != 0)); then
      echo "FAIL: the clean model does not verify:"
      cat pan.out
      if ls ./*.trail >/dev/null 2>&1; then spin -t -p "${bounds[@]}" manifold.pml | tail -60; fi
      exit 1
    fi
    echo "PASS: errors: 0"
    ;;
  planted)
    # Each planted protocol bug of engine/util/fault_point.h and the property spin must find
    # broken (the name in its Check(name, ...); end_state: a thread blocked forever).
    expected=(
      "skip_page_sync I2_I12_durable_header_and_pages"
      "ack_before_header_sync I34_released_only_when_durable"
      "header_in_place I2_I12_durable_header_and_pages"
      "split_batch batch_is_atomic"
      "sync_covers_late_records I19_visible_sync_is_durable"
      "recycle_before_checkpoint I13_retired_only_when_covered"
      "log_pages_not_contents recovered_state_is_a_prefix"
      "publication_out_of_order I19_never_goes_back"
      "follower_released_before_sync I19_visible_sync_is_durable"
      "lost_wakeup end_state"
      "checkpoint_reads_version_unlocked I5_frees_go_with_the_version"
      "merge_drops_tombstone I36_tombstone_deletes_older_value"
      "buffer_read_ignores_sequence I35_read_sees_no_later_commit"
      "buffer_released_before_durable I34_released_only_when_durable"
      "read_misses_immutable_buffer I32_read_sees_every_published_commit"
      "merge_loses_newest_version I36_merge_applies_newest_entry"
    )
    # Not planted bugs of the engine: steps the model can leave out to show that the property they
    # uphold is checked (the header read-back, I11; recovery's checkpoint before new records, I18;
    # the install moving only versions at or above the checkpoint's sequence, I35 and I37).
    ablations=(
      "NO_HEADER_READ_BACK I34_released_only_when_durable"
      "NO_RECOVERY_CHECKPOINT recovered_state_is_a_prefix"
      "NO_INSTALL_SEQUENCE_CHECK I35_read_sees_no_later_commit"
    )
    # The planted bugs outside the modelled protocols (model/spin/README.md says why).
    not_modelled=(skip_dir_sync skip_checksum reuse_pinned_pages rollback_keeps_sequence
      skip_roll_record_check preallocate_without_sync checkpoint_frees_reader_pages
      forced_checkpoint_keeps_log page_search_equal_goes_left pack_separator_from_left
      chunk_reuses_replaced_pages)
    # Every planted bug of the engine is either modelled or listed as not modelled, so a new one
    # cannot be forgotten here.
    failures=0
    names="$(grep -oE '"manifold/bug/[a-z_]+"' "${fault_point_h}" | sed -E 's|"manifold/bug/||; s|"||')"
    if [[ -z "${names}" ]]; then
      echo "FAIL: no planted bugs found in ${fault_point_h}"
      exit 1
    fi
    for name in ${names}; do
      if ! printf '%s\n' "${expected[@]}" "${not_modelled[@]}" | grep -qE "^${name}( |$)"; then
        echo "FAIL: planted bug ${name} (${fault_point_h}) is neither modelled nor listed"
        failures=$((failures + 1))
      fi
    done
    for entry in "${expected[@]}" "${not_modelled[@]/%/ -}"; do
      name="${entry%% *}"
      if ! grep -qx "${name}" <<<"${names}"; then
        echo "FAIL: ${name} is not a planted bug of ${fault_point_h}"
        failures=$((failures + 1))
      fi
    done
    # Each variant in its own directory, two at a time (compiling pan.c dominates: each search
    # stops at its first error); the reports are printed in the list's order.
    variants=()
    for entry in "${expected[@]}" "${ablations[@]}"; do
      name="${entry%% *}"
      macro="PLANT_${name}"
      if [[ "${name}" == NO_* ]]; then macro="${name}"; fi
      if ! grep -q "${macro}\b" manifold.pml; then
        echo "FAIL: manifold.pml has no ${macro}"
        failures=$((failures + 1))
        continue
      fi
      variants+=("${macro} ${entry#* }")
      mkdir "${work}/${macro}"
      cp manifold.pml "${work}/${macro}/"
      while (($(jobs -rp | wc -l) >= 2)); do wait -n; done
      (cd "${work}/${macro}" && check_variant "${macro}" "${entry#* }" >report 2>&1) &
    done
    wait
    for variant in "${variants[@]}"; do
      macro="${variant%% *}"
      cat "${work}/${macro}/report"
      if ! grep -q '^  found: ' "${work}/${macro}/report"; then failures=$((failures + 1)); fi
    done
    if ((failures > 0)); then
      echo "FAIL: ${failures} problem(s)"
      exit 1
    fi
    echo "PASS: spin finds each of the ${#expected[@]} planted protocol bugs and" \
      "${#ablations[@]} left-out steps"
    ;;
  *)
    echo "usage: spin_test.sh clean|planted|large|wide MODEL [FAULT_POINT_H] [-DNAME=VALUE ...]"
    exit 2
    ;;
esac
