"""The `sources` filegroup every package with C++ code exports for the source checks.

//engine/port:engine_uses_port_test reads the engine's; //docs:invariants_cited_test reads every
package's (engine, sim, model, faults, tests).
"""

def engine_sources(srcs = None):
    """Declares :sources, the package's C++ files (default: every *.cc and *.h here)."""
    native.filegroup(
        name = "sources",
        srcs = srcs if srcs != None else native.glob(["*.cc", "*.h", "*.sh"]),
        visibility = [
            "//docs:__pkg__",
            "//engine/port:__pkg__",
            "//tests/mutants:__pkg__",  # apply_check_test: the files the mutants patch.
        ],
    )
