"""Secret files are 0600 from their first byte: each file provisioning writes is observed
(``file_modes.watch_modes``, umask 0) from the moment it exists until it is in place."""

from __future__ import annotations

from pathlib import Path

import pytest
from iotgw.registry import AccountRole
from iotgw.registry.atomic_files import write_file
from iotgw.registry.certificates import create_ca, issue
from iotgw.registry.provisioning import BROKER_FILE_MODE, create_account, write_broker_files
from sqlalchemy.orm import Session

from tests.registry.file_modes import Modes, watch_modes


def _created_0600(seen: Modes) -> None:
    assert seen.created, "no file was seen being created"
    for path in seen.created:
        modes = seen.modes[path]
        assert modes and modes[0] == 0o600, f"{path} was created {oct(modes[0]) if modes else '?'}"


def test_the_watch_sees_a_file_written_before_its_mode_is_set(tmp_path: Path) -> None:
    """What the old writer did (write, then chmod) is caught: the watch can fail."""
    with watch_modes(tmp_path) as seen:
        tmp = tmp_path / ".passwd.tmp"
        tmp.write_text("iotgw-admin:$7$...\n")
        tmp.chmod(0o640)
        tmp.replace(tmp_path / "passwd")
    assert seen.history(tmp_path / "passwd")[:2] == [0o666, 0o640]


def test_broker_files_are_private_from_the_first_byte(session: Session, tmp_path: Path) -> None:
    create_account(session, "gw-a", AccountRole.GATEWAY)
    create_account(session, "ingest", AccountRole.INGEST)
    broker = tmp_path / "broker"
    with watch_modes(broker) as seen:
        write_broker_files(session, broker)
        written = write_broker_files(session, broker)  # and again, over the first ones
    _created_0600(seen)
    for path in written:
        history = seen.history(path)
        assert history[0] == 0o600 and set(history) == {0o600, BROKER_FILE_MODE}, (path, history)
    assert sorted(broker.iterdir()) == sorted(written)  # no temporary file left


def test_keys_are_private_from_the_first_byte_and_certificates_end_public(tmp_path: Path) -> None:
    with watch_modes(tmp_path) as seen:
        ca = create_ca(tmp_path / "ca")
        client = issue(ca, "gw-a", tmp_path / "bundle")
        server = issue(ca, "broker", tmp_path / "tls", server_names=["localhost", "::1"])
    _created_0600(seen)
    for issued in (ca, client, server):
        assert set(seen.history(issued.key)) == {0o600}
        assert seen.history(issued.cert)[0] == 0o600 and seen.history(issued.cert)[-1] == 0o644


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(tmp_path: Path) -> None:
    target = tmp_path / "passwd"
    write_file(target, "old\n", mode=0o640)
    (tmp_path / "acl").mkdir()
    (tmp_path / "acl" / "in-the-way").write_text("")
    with pytest.raises(OSError):
        write_file(tmp_path / "acl", "new\n")  # a directory is in the way: the rename fails
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["acl", "passwd"]
