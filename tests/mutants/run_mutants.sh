#!/usr/bin/env bash
# Applies each source mutant (tests/mutants/NN_name.patch) to a scratch copy of the committed tree,
# builds the simulator and sweeps seeds until the first failure, then prints a Markdown table:
# caught or not, by which fault profile (or bazel test), at which seed, and the size of the
# minimized repro. docs/mutants.md explains the catalog and holds the last measured table.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: tests/mutants/run_mutants.sh [OPTIONS] [MUTANT...]

Runs every mutant in tests/mutants/ (or only those named: NN_name, NN_name.patch or a path), each
in a scratch copy of the repository's committed HEAD (git archive), and prints a Markdown table.
A mutant is caught when the simulator sweep (or a --test target) fails with the patch applied.

Two optional lines in a patch's header (before its first "diff --git") steer the runner:
  Test: //pkg:target     a bazel test that kills the mutant; run (after the --test targets) when
                         the sweep did not catch it. Repeatable.
  Equivalent: REASON     the mutant cannot change behaviour the engine shows (REASON says why); a
                         survival is reported as "equivalent" and does not fail the run.

Options:
  --seeds N          seeds per profile, swept in growing chunks, stopping at the first failure
                     (default 1000)
  --profiles LIST    comma-separated simulator profiles, swept in order (default
                     storage,chaos,seq-storage,seq-chaos,pct-storage). A profile is a fault
                     profile (--faults) with optional prefixes: "seq-" runs the sequential
                     workload (--workload sequential), "pct-" the PCT schedule (--schedule pct).
                     The first profile in the list that fails is the one that caught the mutant
                     every profile's first failing seed is reported, and minimized: the
                     repro column gives the smallest repro and the profile it came from.
  --also-seeds N     seeds for each profile after the one that caught the mutant (default 100):
                     enough to say whether it catches the mutant soon, without sweeping 1000
                     seeds of every profile of every mutant; 0 skips them
  --jobs N           simulator --jobs (default 2)
  --minimize-runs N  --minimize budget on each profile's first failing seed; 0 skips minimizing
                     (default 1500)
  --test TARGET      also run this bazel test target (repeatable) when the sweep did not catch
                     the mutant
  --scratch DIR      scratch copy location, reused across mutants so bazel rebuilds only what
                     each patch changes (default ${TMPDIR:-/tmp}/manifold-mutants-$(id -u))
  --out FILE         also write the table to FILE
  --keep-going       exit 0 even when a mutant survives
  -h, --help         this help

Exit status: 0 every mutant caught or equivalent (or --keep-going), 1 a mutant survived, 2 usage
or setup error
(a patch that does not apply is a setup error: it fails loudly).
EOF
}

die() {
  echo "run_mutants: $*" >&2
  exit 2
}

log() { echo "[run_mutants $(date -u +%H:%M:%S)] $*" >&2; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(git -C "$here" rev-parse --show-toplevel 2>/dev/null)" || die "not inside a git checkout"
seeds=1000
also_seeds=100
profiles="storage,chaos,seq-storage,seq-chaos,pct-storage"
jobs=2
minimize_runs=1500
tests=()
scratch="${TMPDIR:-/tmp}/manifold-mutants-$(id -u)"
out=""
keep_going=0
names=()

while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --seeds) seeds="${2:?--seeds needs a value}"; shift 2 ;;
    --profiles) profiles="${2:?--profiles needs a value}"; shift 2 ;;
    --also-seeds) also_seeds="${2:?--also-seeds needs a value}"; shift 2 ;;
    --jobs) jobs="${2:?--jobs needs a value}"; shift 2 ;;
    --minimize-runs) minimize_runs="${2:?--minimize-runs needs a value}"; shift 2 ;;
    --test) tests+=("${2:?--test needs a target}"); shift 2 ;;
    --scratch) scratch="${2:?--scratch needs a directory}"; shift 2 ;;
    --out) out="${2:?--out needs a file}"; shift 2 ;;
    --keep-going) keep_going=1; shift ;;
    -*) usage >&2; die "unknown option $1" ;;
    *) names+=("$1"); shift ;;
  esac
done
[[ "$seeds" =~ ^[1-9][0-9]*$ ]] || die "--seeds must be a positive integer, got '$seeds'"
[[ "$also_seeds" =~ ^[0-9]+$ ]] || die "--also-seeds must be an integer, got '$also_seeds'"
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || die "--jobs must be a positive integer, got '$jobs'"
[[ "$minimize_runs" =~ ^[0-9]+$ ]] || die "--minimize-runs must be an integer, got '$minimize_runs'"

patches=()
if ((${#names[@]} == 0)); then
  for p in "$here"/[0-9]*.patch; do patches+=("$p"); done
else
  for n in "${names[@]}"; do
    if [[ -f "$n" ]]; then
      patches+=("$(cd "$(dirname "$n")" && pwd)/$(basename "$n")")
    elif [[ -f "$here/$n" ]]; then
      patches+=("$here/$n")
    elif [[ -f "$here/$n.patch" ]]; then
      patches+=("$here/$n.patch")
    else
      die "no mutant named '$n' in $here"
    fi
  done
fi
((${#patches[@]} > 0)) || die "no mutants found in $here"

# The file a patch changes (the first +++ line).
patched_file() { sed -n 's|^+++ b/||p' "$1" | head -n 1; }

# The header's "KEY: value" lines (before the first diff --git), one value a line.
header_values() {
  awk -v key="$2: " '/^diff --git/ { exit } index($0, key) == 1 { print substr($0, length(key) + 1) }' "$1"
}

# Replaces the scratch copy with the committed HEAD. The directory itself stays, so its bazel
# output base (keyed by the workspace path) and the shared disk cache keep earlier builds.
fresh_copy() {
  mkdir -p "$scratch"
  find "$scratch" -mindepth 1 -maxdepth 1 ! -name 'bazel-*' -exec rm -rf {} +
  git -C "$repo" archive HEAD | tar -x -C "$scratch"
}

# The simulator flags of a profile ("seq-chaos": --workload sequential --faults chaos), one a
# line; dies on a malformed profile.
profile_args() {
  local rest=$1
  while [[ "$rest" == *-* ]]; do
    case "${rest%%-*}" in
      seq) printf '%s\n' --workload sequential ;;
      pct) printf '%s\n' --schedule pct ;;
      *) die "profile '$1': unknown prefix '${rest%%-*}' (seq-, pct-)" ;;
    esac
    rest="${rest#*-}"
  done
  [[ -n "$rest" ]] || die "profile '$1' names no fault profile"
  printf '%s\n' --faults "$rest"
}

# Runs the sweep for one profile over seeds 1..LIMIT in growing chunks; prints "SEED" of the
# first failure, "crash SEED" when the simulator died inside a chunk (SEED: the first seed that
# fails or dies alone; "crash A:B" if none does alone), or nothing when every seed passed.
# Leaves the failing chunk's output in $scratch/sweep.out.
sweep() {
  local profile=$1 limit=$2 first=1 size=20 last status
  local -a args
  mapfile -t args < <(profile_args "$profile")
  while ((first <= limit)); do
    last=$((first + size - 1))
    ((last > limit)) && last=$limit
    log "  $profile: seeds $first..$last"
    status=0
    (cd "$scratch" && ./bazel-bin/sim/sim --seed-range "$first:$last" "${args[@]}" \
      --jobs "$jobs" --quiet) >"$scratch/sweep.out" 2>&1 || status=$?
    if ((status == 1)); then
      sed -n 's/^seed \([0-9]*\) FAILED.*/\1/p' "$scratch/sweep.out" | sort -n | head -n 1
      return 0
    elif ((status != 0)); then
      # The simulator died (an engine assertion or abort ends every seed of the process): find
      # the first seed that dies or fails on its own, one process per seed.
      local s
      for ((s = first; s <= last; s++)); do
        status=0
        (cd "$scratch" && ./bazel-bin/sim/sim --seed "$s" "${args[@]}" --quiet) \
          >"$scratch/seed.out" 2>&1 || status=$?
        if ((status != 0)); then
          echo "crash $s"
          return 0
        fi
      done
      echo "crash $first:$last"
      return 0
    fi
    first=$((last + 1))
    size=$((size * 4))
  done
}

# Minimizes the failing seed; prints the number of operations the repro keeps, or "-".
minimize() {
  local seed=$1 replay args
  ((minimize_runs > 0)) || { echo "-"; return 0; }
  # The first replay line after the seed's FAILED line (the failure message may span lines).
  replay="$(awk -v s="seed $seed FAILED" 'index($0, s) == 1 { on = 1 }
    on && sub(/^replay: \.\/bazelw run \/\/sim -- /, "") { print; exit }' "$scratch/sweep.out")"
  [[ -n "$replay" ]] || { echo "-"; return 0; }
  read -r -a args <<<"${replay/ --trace/}"
  log "  minimizing seed $seed (at most $minimize_runs runs)"
  (cd "$scratch" && ./bazel-bin/sim/sim "${args[@]}" --minimize --minimize-runs "$minimize_runs") \
    >"$scratch/minimize.out" 2>&1 || true
  local ops
  ops="$(sed -n 's/^minimized in [0-9]* runs to \([0-9]*\) operations.*/\1/p' "$scratch/minimize.out" |
    tail -n 1)"
  echo "${ops:--}"
}

table="| Mutant | File | Caught | By | First failing seed | Minimized repro (ops) | First failing seed per profile | Time (s) |
|---|---|---|---|---|---|---|---|"
survivors=0
equivalents=0
IFS=',' read -r -a profile_list <<<"$profiles"
for profile in "${profile_list[@]}"; do profile_args "$profile" >/dev/null; done
log "repository $repo at $(git -C "$repo" rev-parse --short HEAD); scratch $scratch"
for patch in "${patches[@]}"; do
  name="$(basename "$patch" .patch)"
  file="$(patched_file "$patch")"
  start=$SECONDS
  log "$name ($file)"
  fresh_copy
  (cd "$scratch" && git apply --verbose "$patch") >&2 ||
    die "$name does not apply to HEAD; regenerate it (docs/mutants.md)"
  (cd "$scratch" && ./bazelw build --config=sim //sim) >"$scratch/build.out" 2>&1 || {
    tail -n 30 "$scratch/build.out" >&2
    die "$name: the simulator does not build with the mutant applied"
  }
  caught="no" by="-" seed="-" repro="-" per_profile=""
  for profile in "${profile_list[@]}"; do
    # Once a profile caught the mutant, the rest get the smaller --also-seeds budget.
    limit=$seeds
    [[ "$caught" == "yes" ]] && limit=$also_seeds
    figure="-" result=""
    if ((limit > 0)); then
      result="$(sweep "$profile" "$limit")"
      if [[ -z "$result" ]]; then
        figure=">$limit"
      elif [[ "$result" == crash* ]]; then
        figure="${result#crash } (died)"
      else
        figure="$result"
      fi
    fi
    # Every catching profile's seed is minimized: the sequential workload's repros are often far
    # smaller than the concurrent one's (no thread interleavings for a shrink to perturb).
    ops="-"
    if [[ -n "$result" && "$result" != crash* ]]; then
      ops="$(minimize "$result")"
      figure+=" ($ops ops)"
      if [[ "$ops" =~ ^[0-9]+$ ]] && { [[ ! "$repro" =~ ^[0-9]+ ]] || ((ops < ${repro%% *})); }; then
        repro="$ops ($profile)"
      fi
    fi
    per_profile+="${per_profile:+; }$profile $figure"
    [[ "$caught" == "yes" || -z "$result" ]] && continue
    caught="yes" by="sim $profile"
    if [[ "$result" == crash* ]]; then
      seed="${result#crash } (process died)"
      grep -m 3 -i 'check\|abort\|fatal' "$scratch/sweep.out" >&2 || true
    else
      seed="$result"
    fi
  done
  mutant_tests=()
  mapfile -t mutant_tests < <(header_values "$patch" Test)
  if [[ "$caught" == "no" ]]; then
    for target in "${tests[@]}" "${mutant_tests[@]}"; do
      log "  bazel test $target"
      if ! (cd "$scratch" && ./bazelw test "$target") >"$scratch/test.out" 2>&1; then
        caught="yes" by="bazel test $target"
        break
      fi
    done
  fi
  if [[ "$caught" == "no" ]]; then
    if [[ -n "$(header_values "$patch" Equivalent)" ]]; then
      caught="equivalent"
      equivalents=$((equivalents + 1))
    else
      survivors=$((survivors + 1))
    fi
  fi
  row="| $name | $file | $caught | $by | $seed | $repro | $per_profile | $((SECONDS - start)) |"
  log "  $row"
  table+=$'\n'"$row"
done
(cd "$scratch" && ./bazelw shutdown) >/dev/null 2>&1 || true

echo "$table"
[[ -n "$out" ]] && echo "$table" >"$out"
log "${#patches[@]} mutants, $survivors survived, $equivalents equivalent (survived as expected)"
((survivors == 0 || keep_going)) || exit 1
exit 0
