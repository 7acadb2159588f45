# Sourced by bin/test and bin/bench: Debian's Python and the packages the Python client and its tests use
# (PyPI is not needed: grpcio, protobuf, numpy, torch, pytest, pyzmq and msgpack all come from apt).
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"
ensure_python_deps() {
  local missing=()
  [ -x /usr/bin/python3 ] || missing+=(python3)
  /usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
  /usr/bin/python3 -c 'import grpc' 2>/dev/null || missing+=(python3-grpcio)
  /usr/bin/python3 -c 'import google.protobuf' 2>/dev/null || missing+=(python3-protobuf)
  /usr/bin/python3 -c 'import numpy' 2>/dev/null || missing+=(python3-numpy)
  /usr/bin/python3 -c 'import torch' 2>/dev/null || missing+=(python3-torch)
  /usr/bin/python3 -c 'import pytest' 2>/dev/null || missing+=(python3-pytest)
  /usr/bin/python3 -c 'import setuptools' 2>/dev/null || missing+=(python3-setuptools)
  # The KV-event tests subscribe as vLLM's consumers do: ZeroMQ and msgpack.
  /usr/bin/python3 -c 'import zmq' 2>/dev/null || missing+=(python3-zmq)
  /usr/bin/python3 -c 'import msgpack' 2>/dev/null || missing+=(python3-msgpack)
  command -v protoc >/dev/null 2>&1 || missing+=(protobuf-compiler)
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
}
ensure_python_deps
