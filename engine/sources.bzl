"""The `sources` filegroup every engine package exports for //engine/port:engine_uses_port_test."""

def engine_sources(srcs = None):
    """Declares :sources, the package's C++ files (default: every *.cc and *.h here)."""
    native.filegroup(
        name = "sources",
        srcs = srcs if srcs != None else native.glob(["*.cc", "*.h", "*.sh"]),
        visibility = ["//docs:__pkg__", "//engine/port:__pkg__"],
    )
