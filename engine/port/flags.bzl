"""Boolean build settings and an or-of-config_settings helper (no bazel-skylib offline)."""

def _bool_flag_impl(ctx):
    return []

# A boolean command-line build setting: `--//engine/port:scheduled` (or `=false`). Read by
# config_setting(flag_values = ...); set per target by //sim:defs.bzl's transition.
bool_flag = rule(
    implementation = _bool_flag_impl,
    build_setting = config.bool(flag = True),
)

# A boolean build setting no command line can set: only a configuration transition does (the
# planted-bugs variant, //engine:planted_bugs_variant, set by //sim:defs.bzl's planted_bugs
# targets), so no build of a production target can turn it on by a flag.
bool_setting = rule(
    implementation = _bool_flag_impl,
    build_setting = config.bool(flag = False),
)

def config_setting_any(name, settings, visibility = None):
    """`name` matches when any of `settings` (config_setting labels) matches.

    A chain of aliases, each selecting the next: `settings[0]` if it matches, else the rest. One
    select key per level, so two settings matching at once is not an ambiguity error. The last
    level falls back on `settings[-1]` itself, which then does not match.
    """
    for i in range(len(settings) - 1):
        level = name if i == 0 else "%s__%d" % (name, i)
        rest = settings[-1] if i == len(settings) - 2 else ":%s__%d" % (name, i + 1)
        native.alias(
            name = level,
            actual = select({settings[i]: settings[i], "//conditions:default": rest}),
            visibility = visibility if i == 0 else ["//visibility:private"],
        )
