from __future__ import annotations

import pytest

from devices import Topic, TopicError, cmd_topic, parse_topic, status_topic, telemetry_topic


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
