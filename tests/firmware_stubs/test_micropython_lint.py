"""The firmware files import only what MicroPython provides (and the firmware itself)."""

from __future__ import annotations

import ast

from tests.firmware_stubs.conftest import FIRMWARE

MICROPYTHON = {"json", "struct", "time", "os", "gc", "sys", "errno", "select", "socket",
               "binascii", "ubinascii", "machine", "network", "micropython", "ntptime",
               "umqtt.simple", "esp32", "esp"}
OWN = {"hal", "iotgw_node"}


def _imports(path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add(node.module or "")
    return found


def test_only_micropython_modules_are_imported() -> None:
    files = sorted(FIRMWARE.rglob("*.py"))
    assert len(files) >= 10
    for path in files:
        for module in _imports(path):
            allowed = module in MICROPYTHON or module.split(".")[0] in OWN
            assert allowed, f"{path.relative_to(FIRMWARE)} imports {module!r}, which MicroPython lacks"


def test_the_lint_catches_a_cpython_only_import(tmp_path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import dataclasses\nfrom pathlib import Path\n")
    assert _imports(bad) - MICROPYTHON == {"dataclasses", "pathlib"}
