#!/usr/bin/env bash
# Installs Manifold into a temporary prefix (//:install), then builds examples/cmake_consumer twice,
# with Debian's cmake (find_package -> manifold::manifold) and with pkg-config, and runs both.
set -euo pipefail
tmp="${TEST_TMPDIR:?}"
export HOME="$tmp"  # cmake's package registry and caches stay inside the test
src="$TEST_SRCDIR/manifold/examples/cmake_consumer"
prefix="$tmp/prefix"

"$TEST_SRCDIR/manifold/install" --prefix="$prefix"

# The installed archive is the production build: no libfiu fault points, no simulator scheduler.
if nm "$prefix/lib/libmanifold.a" | grep -E ' U fiu_|8manifold4port5sched'; then
  echo "FAIL: libmanifold.a carries fault points or the scheduler" >&2
  exit 1
fi
version="$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --modversion manifold)"
expected="$(sed -n 's/^#define MANIFOLD_VERSION "\(.*\)"$/\1/p' "$prefix/include/manifold/version.h")"
[[ "$version" == "$expected" ]] || { echo "FAIL: manifold.pc says $version, version.h $expected" >&2; exit 1; }

cmake -S "$src" -B "$tmp/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$tmp/build" >/dev/null
mkdir "$tmp/db_cmake"
"$tmp/build/consumer" "$tmp/db_cmake"

# shellcheck disable=SC2046  # pkg-config's output is a list of flags
g++ "$src/main.cc" -o "$tmp/consumer_pc" \
  $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs manifold)
mkdir "$tmp/db_pc"
"$tmp/consumer_pc" "$tmp/db_pc"
echo "PASS"
