#!/usr/bin/env bash
# Builds Keel's documentation (the DocC catalog in Sources/Keel/Keel.docc and
# every public symbol's doc comment) with swift-docc-plugin, and fails on any
# warning: a link to a symbol that moved, an ambiguous article name.
# Usage: scripts/docs.sh        The archive lands in .build/plugins/Swift-DocC/outputs/Keel.doccarchive.
set -euo pipefail
cd "$(dirname "$0")/.."
swift package --disable-sandbox generate-documentation --target Keel --warnings-as-errors
