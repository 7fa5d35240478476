"""Offline shim for @rules_java//java:defs.bzl: thin aliases of Bazel 4's native Java rules.

Only present so that @bazel_tools' BUILD files (which load this file) can be parsed
without downloading rules_java. This project does not build Java.
"""

java_binary = native.java_binary
java_import = native.java_import
java_library = native.java_library
java_lite_proto_library = native.java_lite_proto_library
java_package_configuration = native.java_package_configuration
java_plugin = native.java_plugin
java_proto_library = native.java_proto_library
java_runtime = native.java_runtime
java_test = native.java_test
java_toolchain = native.java_toolchain
