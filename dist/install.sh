#!/usr/bin/env bash
# Installs Manifold for non-Bazel builds: ./bazelw run //:install -- --prefix=/usr/local
#   PREFIX/include/manifold/*.h                     public headers
#   PREFIX/lib/libmanifold.a                        engine + everything it links from the repo
#   PREFIX/lib/pkgconfig/manifold.pc                pkg-config --cflags --libs manifold
#   PREFIX/lib/cmake/manifold/manifoldConfig*.cmake find_package(manifold CONFIG) -> manifold::manifold
# The archive is always the production build (-c opt, no fault points): dist/static_archive.bzl.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: ./bazelw run //:install -- --prefix=DIR

Installs Manifold's public headers, static library (libmanifold.a), pkg-config file
(lib/pkgconfig/manifold.pc) and CMake package (lib/cmake/manifold/) under DIR.
A relative DIR is taken from the directory ./bazelw was run in. DIR is created if missing.

Options:
  --prefix=DIR   installation prefix (required), for example /usr/local
  -h, --help     show this help
USAGE
}

prefix=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --prefix=*) prefix="${1#--prefix=}" ;;
    --prefix)
      [[ $# -ge 2 ]] || { echo "install: --prefix needs a directory" >&2; exit 2; }
      prefix="$2"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [[ -z "$prefix" ]]; then
  echo "install: --prefix=DIR is required (see --help)" >&2
  exit 2
fi
# `bazel run` starts us in the runfiles tree; a relative prefix means the user's directory.
if [[ "$prefix" != /* ]]; then
  prefix="${BUILD_WORKING_DIRECTORY:-$PWD}/$prefix"
fi
if [[ -e "$prefix" && ! -d "$prefix" ]]; then
  echo "install: prefix '$prefix' exists and is not a directory" >&2
  exit 1
fi
if ! mkdir -p "$prefix" 2>/dev/null || [[ ! -w "$prefix" ]]; then
  echo "install: cannot write to prefix '$prefix' (permissions? try a prefix you own, or sudo)" >&2
  exit 1
fi
prefix="$(cd "$prefix" && pwd)"

# Our files: `bazel run` gives $0.runfiles; run from a test's runfiles, RUNFILES_DIR is set.
if [[ -d "$0.runfiles/manifold" ]]; then
  r="$0.runfiles/manifold"
elif [[ -n "${RUNFILES_DIR:-}" && -d "$RUNFILES_DIR/manifold" ]]; then
  r="$RUNFILES_DIR/manifold"
else
  echo "install: runfiles not found; run it through ./bazelw run //:install" >&2
  exit 1
fi

version="$(sed -n 's/^#define MANIFOLD_VERSION "\(.*\)"$/\1/p' "$r/engine/include/manifold/version.h")"
if [[ -z "$version" ]]; then
  echo "install: MANIFOLD_VERSION not found in engine/include/manifold/version.h" >&2
  exit 1
fi
# System libraries the archive needs, from the linked libraries' linkopts (-pthread today).
libs_private="$(tr '\n' ' ' <"$r/dist/libmanifold.linkflags" | sed 's/ *$//')"
cmake_link=""
for flag in $libs_private; do
  case "$flag" in
    -pthread) cmake_link+=" Threads::Threads" ;;
    -l*) cmake_link+=" ${flag#-l}" ;;
    *) cmake_link+=" $flag" ;;
  esac
done

# `command -p`: coreutils install(1), never this script (a test runs it from a directory holding
# //:install, and PATH may include ".").
command -p install -d "$prefix/include/manifold" "$prefix/lib/pkgconfig" "$prefix/lib/cmake/manifold"
command -p install -m 0644 "$r"/engine/include/manifold/*.h "$prefix/include/manifold/"
command -p install -m 0644 "$r/dist/libmanifold.a" "$prefix/lib/libmanifold.a"

# The headers need C++20 (std::span, concepts): -std=c++20 is part of Cflags.
cat >"$prefix/lib/pkgconfig/manifold.pc" <<PC
prefix=$prefix
includedir=\${prefix}/include
libdir=\${prefix}/lib

Name: manifold
Description: Embedded transactional key-value engine (C++20; Cflags carry -std=c++20)
Version: $version
Cflags: -std=c++20 -I\${includedir}
Libs: -L\${libdir} -lmanifold $libs_private
PC

cat >"$prefix/lib/cmake/manifold/manifoldConfig.cmake" <<CMAKE
# find_package(manifold CONFIG REQUIRED) -> imported target manifold::manifold (static).
# Requires C++20: the target carries cxx_std_20 in its compile features.
include(CMakeFindDependencyMacro)
find_dependency(Threads)
get_filename_component(_manifold_prefix "\${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET manifold::manifold)
  add_library(manifold::manifold STATIC IMPORTED)
  set_target_properties(manifold::manifold PROPERTIES
    IMPORTED_LOCATION "\${_manifold_prefix}/lib/libmanifold.a"
    INTERFACE_INCLUDE_DIRECTORIES "\${_manifold_prefix}/include"
    INTERFACE_COMPILE_FEATURES cxx_std_20
    INTERFACE_LINK_LIBRARIES "${cmake_link# }")
endif()
unset(_manifold_prefix)
set(manifold_VERSION "$version")
CMAKE

cat >"$prefix/lib/cmake/manifold/manifoldConfigVersion.cmake" <<CMAKE
# Before 1.0 a minor release may break the API (version.h): same MAJOR.MINOR is compatible.
set(PACKAGE_VERSION "$version")
if(PACKAGE_FIND_VERSION)
  string(REGEX MATCH "^[0-9]+\\\\.[0-9]+" _have "\${PACKAGE_VERSION}")
  string(REGEX MATCH "^[0-9]+\\\\.[0-9]+" _want "\${PACKAGE_FIND_VERSION}")
  if(PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION OR NOT _have STREQUAL _want)
    set(PACKAGE_VERSION_COMPATIBLE FALSE)
  else()
    set(PACKAGE_VERSION_COMPATIBLE TRUE)
    if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)
      set(PACKAGE_VERSION_EXACT TRUE)
    endif()
  endif()
else()
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
endif()
CMAKE

echo "Installed manifold $version under $prefix"
