#!/bin/sh
echo "note: coverage tooling is stubbed out in this offline workspace (third_party/remote_coverage_tools)" >&2
exit 0
