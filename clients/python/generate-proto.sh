#!/usr/bin/env bash
# Regenerates the Python messages of the master's gRPC API from src/main/proto (needs protoc: apt install
# protobuf-compiler). The stubs are hand-written in crescent/master.py; only the messages are generated.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
protoc -I"$here/../../src/main/proto" --python_out="$here/crescent/_proto" "$here/../../src/main/proto/master.proto"
