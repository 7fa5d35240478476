"""Simulator binaries and tests built on the scheduled engine inside the default build.

`sim_cc_binary` and `sim_cc_test` take the attributes of `cc_binary` / `cc_test`. Each emits the
plain rule as `<name>_impl` (tagged `manual`, so `bazel build //...` never builds it in the
default configuration) and a wrapper `<name>` whose dependency edge to it is a configuration
transition setting the build setting `//engine/port:scheduled` to true. Everything the binary links (engine,
simulator, third-party code) is therefore compiled in one configuration, on the scheduled port
layer (//engine/port selects it; docs/simulator.md "Build-time selection"), so `:port` and
`:port_sim` objects never meet in one binary. Production targets stay in the default
configuration and never see the setting.

The wrapper's executable is a symlink to the binary (the test runner's environment, e.g.
TEST_TOTAL_SHARDS / TEST_SHARD_INDEX, reaches it unchanged), and its runfiles are the binary's.
`args`, `size`, `timeout`, `shard_count`, `flaky` and `local` belong to the wrapper, since that is
the target `bazel run` / `bazel test` executes; `tags`, `testonly` and `visibility` go on both
(the `_impl` rule also gets `manual`); everything else (`srcs`, `deps`, `data`, `copts`, ...) goes
on the `_impl` rule, whose runfiles (`data` included) the wrapper forwards. Bazel 4.2.3 refuses
a transition on `--define`, hence the build setting rather than
`--define=manifold_sim_scheduler=1` (which //engine/port:sim_scheduler also accepts).

    load("//sim:defs.bzl", "sim_cc_binary", "sim_cc_test")
    sim_cc_test(name = "runner_test", size = "medium", srcs = [...], deps = [":sim_lib", ...])

Planted bugs (engine/util/fault_point.h) are compiled out of every build but `--config=sim` and
the test-only planted-bugs variant: `sim_cc_test(..., planted_bugs = True)` builds the test and
all it links with //engine:planted_bugs_variant on as well, and `planted_bugs_cc_test` does so on
the default (unscheduled) engine. Only tests that switch planted bugs on use them.
"""

load("@rules_cc//cc:defs.bzl", "cc_binary", "cc_test")

_SCHEDULED = "//engine/port:scheduled"

def _scheduler_on_impl(settings, attr):
    # Only the scheduler's build setting changes: --define (manifold_fault_points=1 from
    # .bazelrc), -c and every other option stay as given.
    return {_SCHEDULED: True}

_scheduler_on = transition(
    implementation = _scheduler_on_impl,
    inputs = [],
    outputs = [_SCHEDULED],
)

_PLANTED = "//engine:planted_bugs_variant"

def _scheduler_and_planted_on_impl(settings, attr):
    return {_SCHEDULED: True, _PLANTED: True}

_scheduler_and_planted_on = transition(
    implementation = _scheduler_and_planted_on_impl,
    inputs = [],
    outputs = [_SCHEDULED, _PLANTED],
)

def _planted_on_impl(settings, attr):
    # The port layer stays as the configuration has it (the default engine, or --config=sim's).
    return {_PLANTED: True}

_planted_on = transition(
    implementation = _planted_on_impl,
    inputs = [],
    outputs = [_PLANTED],
)

def _forward_impl(ctx):
    # With a transition on the attribute, the dependency arrives as a one-element list.
    binary = ctx.attr.binary[0]
    info = binary[DefaultInfo]
    executable = ctx.actions.declare_file(ctx.label.name)
    ctx.actions.symlink(
        output = executable,
        target_file = info.files_to_run.executable,
        is_executable = True,
    )
    runfiles = ctx.runfiles(files = [executable]).merge(info.default_runfiles)
    return [
        DefaultInfo(executable = executable, runfiles = runfiles),
        # `bazel coverage` instruments the binary's sources through the wrapper.
        coverage_common.instrumented_files_info(ctx, dependency_attributes = ["binary"]),
    ]

def _attrs(cfg):
    return {
        "binary": attr.label(cfg = cfg, executable = True, mandatory = True),
        "_allowlist_function_transition": attr.label(
            default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
        ),
    }

_sim_binary = rule(implementation = _forward_impl, attrs = _attrs(_scheduler_on), executable = True)

_sim_test = rule(implementation = _forward_impl, attrs = _attrs(_scheduler_on), test = True)

_sim_planted_test = rule(
    implementation = _forward_impl,
    attrs = _attrs(_scheduler_and_planted_on),
    test = True,
)

_planted_test = rule(implementation = _forward_impl, attrs = _attrs(_planted_on), test = True)

# Attributes of the executed target: they go on the wrapper, not on the `_impl` rule.
_WRAPPER_ONLY = ["args", "size", "timeout", "shard_count", "flaky", "local"]

def _split(kwargs):
    wrapper = {k: kwargs.pop(k) for k in _WRAPPER_ONLY if k in kwargs}
    for k in ["visibility", "testonly", "tags"]:
        if k in kwargs:
            wrapper[k] = kwargs[k]
    impl_tags = list(kwargs.pop("tags", []))
    if "manual" not in impl_tags:
        impl_tags.append("manual")
    return wrapper, kwargs, impl_tags

def sim_cc_binary(name, **kwargs):
    """A cc_binary built on the scheduled engine; `bazel run //pkg:name` runs it."""
    wrapper, impl, impl_tags = _split(kwargs)
    impl.pop("visibility", None)
    cc_binary(name = name + "_impl", tags = impl_tags, visibility = ["//visibility:private"], **impl)
    _sim_binary(name = name, binary = ":" + name + "_impl", **wrapper)

def sim_cc_test(name, planted_bugs = False, **kwargs):
    """A cc_test built on the scheduled engine; `bazel test` runs it (sharding, size, tags work).

    planted_bugs = True: on the planted-bugs variant too (for tests that switch planted bugs on).
    """
    wrapper, impl, impl_tags = _split(kwargs)
    impl.pop("visibility", None)
    cc_test(name = name + "_impl", tags = impl_tags, visibility = ["//visibility:private"], **impl)
    test_rule = _sim_planted_test if planted_bugs else _sim_test
    test_rule(name = name, binary = ":" + name + "_impl", **wrapper)

def planted_bugs_cc_test(name, **kwargs):
    """A cc_test on the planted-bugs variant of the engine the configuration has (not scheduled)."""
    wrapper, impl, impl_tags = _split(kwargs)
    impl.pop("visibility", None)
    cc_test(name = name + "_impl", tags = impl_tags, visibility = ["//visibility:private"], **impl)
    _planted_test(name = name, binary = ":" + name + "_impl", **wrapper)
