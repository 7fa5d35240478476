#!/usr/bin/env bash
# Builds examples/bazel_consumer (a separate workspace using @manifold through //:deps.bzl) with a
# nested Bazel, then runs the consumer. The nested Bazel has its own output root under
# TEST_TMPDIR (--batch: no server left behind) and shares the project's disk cache, so a second run
# is quick; the first compiles the engine under external/manifold (about 20 s on 2 cores).
set -euo pipefail
tmp="${TEST_TMPDIR:?}"
# The checkout: the consumer's local_repository must point at the real source tree (this test is
# tagged local, so the runfile is a symlink into it). examples/bazel_consumer is in .bazelignore
# (it is a workspace of its own), so it is read from the checkout too, not from runfiles.
root="$(dirname "$(readlink -f "$TEST_SRCDIR/manifold/deps.bzl")")"
user_home="$(getent passwd "$(id -u)" | cut -d: -f6)"
ws="$tmp/consumer"
cp -r "$root/examples/bazel_consumer" "$ws"
sed -i "s|path = \"../..\"|path = \"$root\"|" "$ws/WORKSPACE"
grep -q "path = \"$root\"" "$ws/WORKSPACE" || { echo "FAIL: WORKSPACE path not rewritten" >&2; exit 1; }
cd "$ws"
bazel --batch --output_user_root="$tmp/bazel_root" build --nosandbox_debug \
  --disk_cache="$user_home/.cache/manifold-bazel-disk" //:consumer
mkdir "$tmp/db"
"$ws/bazel-bin/consumer" "$tmp/db"
echo "PASS"
