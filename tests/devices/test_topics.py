from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from iotgw.devices import (
    Topic,
    TopicError,
    check_id,
    cmd_topic,
    parse_topic,
    status_topic,
    telemetry_topic,
)
from iotgw.devices.telemetry import EntityId
from iotgw.devices.topics import ALLOWED, is_id
from pydantic import TypeAdapter, ValidationError


def test_topics_carry_the_version_and_gateway() -> None:
    assert telemetry_topic("gw-1") == "iot/v1/gw-1/telemetry"
    assert status_topic("gw-1") == "iot/v1/gw-1/status"
    assert cmd_topic("gw-1", "ping") == "iot/v1/gw-1/cmd/ping"


@pytest.mark.parametrize("bad", ["", "a/b", "a+b", "a#", "-leading", "x" * 65, "sp ace"])
def test_ids_that_cannot_be_a_topic_level_are_refused(bad: str) -> None:
    with pytest.raises(TopicError, match="invalid gateway id"):
        telemetry_topic(bad)


@pytest.mark.parametrize(("topic", "parsed"), [
    ("iot/v1/gw-1/telemetry", Topic("gw-1", "telemetry")),
    ("iot/v1/gw-1/status", Topic("gw-1", "status")),
    ("iot/v1/gw-1/cmd/reload", Topic("gw-1", "cmd", "reload")),
])
def test_parse(topic: str, parsed: Topic) -> None:
    assert parse_topic(topic) == parsed


@pytest.mark.parametrize("topic", [
    "iot/v2/gw-1/telemetry", "iot/v1/gw-1", "iot/v1/gw-1/telemetry/extra", "x/iot/v1/gw-1/telemetry",
    "iot/v1/gw-1/cmd", "iot/v1//telemetry",
])
def test_parse_refuses_topics_outside_the_scheme(topic: str) -> None:
    with pytest.raises(TopicError):
        parse_topic(topic)


# The id rule (issue 18): every character with a meaning in Mosquitto's password and ACL
# files, in MQTT topics or in URLs is refused, as are whitespace, control characters and
# anything outside ASCII.
FORBIDDEN = ":#+/%$?&=*@!\"'\\ \t\n\r\x0b\x0c\x00\x7f\u00a0\u2028\u3000"
VALID_ID = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", fullmatch=True)
HOSTILE_CHAR = (st.sampled_from(FORBIDDEN) | st.characters(categories=["Cc", "Zs", "Zl", "Zp"])
                | st.characters(min_codepoint=0x80))
ENTITY_ID = TypeAdapter(EntityId)


def _validates(value: str) -> bool:
    try:
        ENTITY_ID.validate_python(value)
    except ValidationError:
        return False
    return True


@given(st.tuples(VALID_ID, HOSTILE_CHAR, st.text(max_size=8)), st.integers(0, 64))
def test_an_id_with_any_forbidden_character_is_refused(parts: tuple[str, str, str], at: int) -> None:
    valid, bad, tail = parts
    value = valid[:at] + bad + valid[at:] + tail
    with pytest.raises(TopicError, match="invalid gateway id"):
        check_id(value, "gateway id")
    assert not is_id(value)
    assert not _validates(value)


@given(VALID_ID, VALID_ID)
def test_topics_of_any_valid_id_parse_back_to_it(gateway_id: str, command: str) -> None:
    assert check_id(gateway_id) == gateway_id and _validates(gateway_id)
    assert parse_topic(telemetry_topic(gateway_id)) == Topic(gateway_id, "telemetry")
    assert parse_topic(status_topic(gateway_id)) == Topic(gateway_id, "status")
    assert parse_topic(cmd_topic(gateway_id, command)) == Topic(gateway_id, "cmd", command)


@given(st.text(max_size=70) | st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,64}\n?", fullmatch=True))
def test_the_models_and_check_id_apply_one_rule(value: str) -> None:
    """EntityId (pydantic's own regex engine) and check_id (Python's) never disagree, even
    on a trailing newline, which ``$`` alone would let through in Python."""
    assert _validates(value) == is_id(value)


@pytest.mark.parametrize("hostile", ["iotgw-admin:", "ingest:", "gw-1\n", "gw 1", "gw%2F1", "gw\x001",
                                     "gw-\u0131", "\uff47\uff57-1", "$SYS", ".", "..", "x" * 65, ""])
def test_the_ids_of_issue_18_are_refused(hostile: str) -> None:
    with pytest.raises(TopicError) as refused:
        check_id(hostile)
    assert str(refused.value).endswith(ALLOWED)
    assert ALLOWED == "1-64 characters of letters, digits, '_', '.', '-', starting with a letter or digit"
    assert not _validates(hostile)
