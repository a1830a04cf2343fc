"""Malformed payloads, as broken or hostile firmware sends them on a gateway's topic.

Every one must be dead-lettered by ingest with a reason while good traffic goes on; the
kinds cycle, so ``n`` messages cover each kind evenly and a run is repeatable.
"""

from __future__ import annotations

import json
from collections.abc import Callable

_Maker = Callable[[str, int], bytes]


def _reading(**values: object) -> dict[str, object]:
    return {"device": "sim-bad", "ts": 1_767_225_600_000, "values": values}


def _batch(gateway: str, seq: int, /, **changes: object) -> bytes:
    batch = {"v": 1, "gateway": gateway, "seq": seq, "readings": [_reading(soil_moisture=30.0)]}
    return json.dumps({**batch, **changes}).encode()


KINDS: dict[str, _Maker] = {
    "not_json": lambda gw, seq: b'{"v":1,"gateway":"' + gw.encode() + b'","readings":[',
    "not_utf8": lambda gw, seq: b"\xff\xfe\x00garbage",
    "empty": lambda gw, seq: b"",
    "wrong_version": lambda gw, seq: _batch(gw, seq, v=99),
    "wrong_type": lambda gw, seq: _batch(gw, seq, seq="seven"),
    "unknown_quantity": lambda gw, seq: _batch(gw, seq, readings=[_reading(radiation=1.0)]),
    "not_a_number": lambda gw, seq: _batch(gw, seq, readings=[_reading(soil_moisture="wet")]),
    "no_readings": lambda gw, seq: _batch(gw, seq, readings=[]),
    "deeply_nested": lambda gw, seq: ("[" * 5_000 + "]" * 5_000).encode(),
    "injection": lambda gw, seq: _batch(gw, seq, readings=[{
        "device": 'x" OR 1=1; DROP MEASUREMENT telemetry --', "ts": 1, "values": {"pm2_5": 1.0}}]),
}


def malformed(gateway_id: str, n: int) -> list[tuple[str, bytes]]:
    """``n`` malformed payloads for ``gateway_id``'s telemetry topic, with their kinds."""
    kinds = sorted(KINDS)
    return [(kind, KINDS[kind](gateway_id, 1_000_000 + i)) for i in range(n)
            for kind in [kinds[i % len(kinds)]]]
