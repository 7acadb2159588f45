"""The Python package must speak the same wire vocabulary as the server it ships with."""
import re
import shutil
import subprocess

import pytest

from crescent import ErrorCode

from conftest import REPO


def test_error_codes_match_the_java_enum():
    source = (REPO / "src/main/java/dev/crescent/common/ErrorCode.java").read_text()
    java = {name: int(number) for name, number in re.findall(r"^\s+([A-Z_]+)\((-?\d+), \d+\)", source, re.M)}
    assert java == {code.name: int(code) for code in ErrorCode}


@pytest.mark.skipif(shutil.which("protoc") is None, reason="protoc not installed")
def test_generated_messages_are_current(tmp_path):
    subprocess.run(["protoc", f"-I{REPO / 'src/main/proto'}", f"--python_out={tmp_path}",
                    str(REPO / "src/main/proto/master.proto")], check=True)
    committed = REPO / "clients/python/crescent/_proto/master_pb2.py"
    assert (tmp_path / "master_pb2.py").read_text() == committed.read_text(), \
        "master.proto changed: run clients/python/generate-proto.sh"
