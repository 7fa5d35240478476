"""manifold_static_archive: one self-contained libmanifold.a, always in the production build.

Bazel 4.2.3's cc_library writes one archive per library and has no rule that merges them (the
static-library rule of later versions does not exist yet; cc_binary(linkshared) makes a .so).
This rule reads the transitive archives from the dependency's CcInfo linking context, the same
list Bazel itself would hand to the linker, and merges their members with the toolchain's `ar`.
Reading CcInfo (instead of globbing bazel-bin) means a library added to //engine:manifold later
is picked up with no edit here, and a dependency that offers no archive (a system .so, as libfiu
is in fault-point builds) fails the build instead of being silently left out.

The dependency is built through a transition to the production configuration whatever the
command line says: -c opt (the project's .bazelrc adds --define=manifold_fault_points=1 to every
build, and //engine:fault_points_* select fault points only in fastbuild, dbg, or opt on the
scheduled engine), the scheduled port layer off, and position-independent code (Debian's gcc
links PIE executables by default, so a consumer's link needs PIC objects). Bazel 4.2.3 cannot
transition on --define, so a command line that adds --define=manifold_sim_scheduler=1 would
still reach the scheduled engine: the merge action therefore checks the finished archive with
`nm` and fails if it references libfiu (fiu_*) or holds the scheduler (manifold::port::sched).
"""

load("@bazel_tools//tools/cpp:toolchain_utils.bzl", "find_cpp_toolchain")

def _production_transition_impl(settings, attr):
    # gcc 12 at -O2 reports std::optional<uint64_t> reads guarded by has_value() as
    # -Wmaybe-uninitialized (engine/wal/log_reader.cc roll_to, engine/db/db_impl_open.cc damaged_slot):
    # false positives that only -c opt shows. They stay warnings, not errors, here, so the CI's
    # --config=werror (which builds this fastbuild engine clean) does not fail on them.
    return {
        "//command_line_option:compilation_mode": "opt",
        "//command_line_option:copt": settings["//command_line_option:copt"] + [
            "-Wno-error=maybe-uninitialized",
        ],
        "//command_line_option:force_pic": True,
        "//engine/port:scheduled": False,
    }

_production_transition = transition(
    implementation = _production_transition_impl,
    inputs = ["//command_line_option:copt"],
    outputs = [
        "//command_line_option:compilation_mode",
        "//command_line_option:copt",
        "//command_line_option:force_pic",
        "//engine/port:scheduled",
    ],
)

def _manifold_static_archive_impl(ctx):
    dep = ctx.attr.dep[0]
    archives = []
    link_flags = []
    for linker_input in dep[CcInfo].linking_context.linker_inputs.to_list():
        link_flags.extend(linker_input.user_link_flags)
        for lib in linker_input.libraries:
            archive = lib.pic_static_library or lib.static_library
            if archive == None:
                fail("%s links %s, which has no static archive: the installed libmanifold.a " %
                     (ctx.attr.dep[0].label, lib.dynamic_library or lib.interface_library) +
                     "cannot carry it (a system library must be listed in the link interface)")
            archives.append(archive)

    cc_toolchain = find_cpp_toolchain(ctx)
    out = ctx.actions.declare_file(ctx.attr.name + ".a")
    args = ctx.actions.args()
    args.add(cc_toolchain.ar_executable)
    args.add(cc_toolchain.nm_executable)
    args.add(out)
    args.add_all(archives)

    # Members are extracted archive by archive into their own directories: two libraries may
    # hold objects of the same name, which one flat `ar x` would overwrite.
    ctx.actions.run_shell(
        inputs = depset(archives, transitive = [cc_toolchain.all_files]),
        outputs = [out],
        arguments = [args],
        command = """set -euo pipefail
ar="$1"; nm="$2"; out="$3"; shift 3
case "$ar" in /*) ;; *) ar="$PWD/$ar" ;; esac
root="$PWD"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
objs=()
i=0
for a in "$@"; do
  i=$((i + 1))
  mkdir "$work/$i"
  (cd "$work/$i" && "$ar" x "$root/$a")
  for o in "$work/$i"/*; do objs+=("$o"); done
done
rm -f "$out"
"$ar" rcsD "$out" "${objs[@]}"
# The production check (see the file comment): no fault points, no scheduled engine.
if "$nm" "$out" 2>/dev/null | grep -E ' U fiu_|8manifold4port5sched' >&2; then
  echo "libmanifold.a: fault points or the simulator's scheduler were compiled in" >&2
  rm -f "$out"
  exit 1
fi
""",
        mnemonic = "ManifoldStaticArchive",
        progress_message = "Merging %d archives into %s" % (len(archives), out.short_path),
    )

    # The system libraries the archive needs (-pthread today), for manifold.pc and the CMake
    # package's link interface.
    flags_out = ctx.actions.declare_file(ctx.attr.name + ".linkflags")
    ctx.actions.write(flags_out, "\n".join(_unique(link_flags)) + "\n")
    return [DefaultInfo(
        files = depset([out, flags_out]),
        runfiles = ctx.runfiles(files = [out, flags_out]),
    )]

def _unique(xs):
    seen = {}
    out = []
    for x in xs:
        if x not in seen:
            seen[x] = True
            out.append(x)
    return out

manifold_static_archive = rule(
    implementation = _manifold_static_archive_impl,
    attrs = {
        "dep": attr.label(providers = [CcInfo], cfg = _production_transition, mandatory = True),
        "_cc_toolchain": attr.label(default = "@bazel_tools//tools/cpp:current_cc_toolchain"),
        "_allowlist_function_transition": attr.label(
            default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
        ),
    },
    toolchains = ["@bazel_tools//tools/cpp:toolchain_type"],
    incompatible_use_toolchain_transition = True,
)
