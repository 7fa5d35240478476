"""What another Bazel workspace needs to build @manifold//engine:manifold (Bazel 4.2.3, offline).

In the consumer's WORKSPACE:

    local_repository(name = "manifold", path = "/path/to/manifold")  # the name must be "manifold"
    load("@manifold//:deps.bzl", "manifold_dependencies")
    manifold_dependencies()

and in its .bazelrc (the engine is C++20):

    build --cxxopt=-std=c++20 --host_cxxopt=-std=c++20

Then `deps = ["@manifold//engine:manifold"]` and `#include "manifold/db.h"`.
examples/bazel_consumer/ is such a workspace (built by its test).
"""

def _manifold_shim_impl(rctx):
    # The shim directories live inside @manifold (third_party/rules_cc, ...); a local_repository
    # needs a path, and the consumer's WORKSPACE does not know ours, so the path comes from a
    # label inside @manifold and the shim's files are linked from there.
    third_party = rctx.path(Label("//third_party:BUILD")).dirname
    src = third_party.get_child(rctx.attr.shim)
    for child in src.readdir():
        rctx.symlink(child, child.basename)

_manifold_shim = repository_rule(
    implementation = _manifold_shim_impl,
    attrs = {"shim": attr.string(mandatory = True)},
    local = True,
)

def manifold_dependencies():
    """Defines the repositories @manifold needs, unless the workspace defined them already.

    rules_cc, rules_java and remote_coverage_tools: Manifold's local shims (third_party/README.md),
    defined before Bazel's WORKSPACE suffix would http_archive() them, so nothing is downloaded.
    system: the Debian libraries under /usr that //third_party wraps (only test, benchmark and
    fault-point builds link any of them; @manifold//engine:manifold in a plain build links none).
    """
    for name in ["rules_cc", "rules_java", "remote_coverage_tools"]:
        if name not in native.existing_rules():
            _manifold_shim(name = name, shim = name)
    if "system" not in native.existing_rules():
        native.new_local_repository(
            name = "system",
            build_file = "@manifold//third_party:system.BUILD",
            path = "/usr",
        )
