"""A gateway floods ingest with payloads that can only be dead-lettered, large ones too. The
store stays within its bounds, what its ``when_full`` policy drops is counted in the
metrics (never silent), the flooder is named by the per-gateway count, and a good
gateway's traffic beside it arrives whole."""

from __future__ import annotations

import re

import httpx
import pytest
from iotgw.ingest.config import DeadLetterLimits

from iotgw.processes import free_port
from tests.e2e.spine import Spine, tally
from tests.faults import ledger

pytestmark = [pytest.mark.integration, pytest.mark.faults]

LIMITS = DeadLetterLimits(max_rows=50, max_bytes=200_000, max_payload_bytes=10_000)


def _metrics(port: int) -> dict[str, float]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"^(iotgw_ingest_dead\S*) (\S+)$", text, re.M)}


@pytest.mark.parametrize("when_full", ["drop_oldest", "drop_new"])
def test_a_dead_letter_flood_is_bounded_counted_and_named(spine: Spine, when_full: str) -> None:
    port = free_port()
    limits = LIMITS.model_copy(update={"when_full": when_full})
    worker = spine.start_ingest(metrics_port=port, dead_letters=limits)
    [cfg] = spine.fleet(1, 3, 30, interval_s=0.05)
    gateway = spine.start_gateway(cfg)
    flooder = f"{spine.name}-flood"
    sent = 120
    spine.publish_raw(flooder, [b"{" + bytes([n % 256]) * (n * 1_000) for n in range(1, sent + 1)])
    assert gateway.wait(90) == 0, gateway.log_tail()
    good = tally(spine, [cfg])
    by_flooder = f'iotgw_ingest_dead_letters_by_gateway_total{{gateway="{flooder}"}}'
    spine.wait_until(lambda: _metrics(port).get(by_flooder) == sent, timeout_s=30,
                     what=f"{sent} dead letters counted for {flooder}")
    metrics = _metrics(port)
    letters = spine.dead_letters()
    kept_bytes = sum(len(x.payload) for x in letters)
    dropped = metrics.get(f'iotgw_ingest_dead_letters_dropped_total{{when_full="{when_full}"}}', 0)
    cut = sum(x.cut for x in letters)
    within = len(letters) <= LIMITS.max_rows and kept_bytes <= LIMITS.max_bytes
    accounted = len(letters) + dropped == sent
    # drop_oldest keeps the newest letters (the last one sent), drop_new the first ones.
    newest, oldest = letters[-1].size, len(letters[0].payload)
    kept_ends = newest == sent * 1_000 + 1 if when_full == "drop_oldest" else oldest == 1_001
    alive = worker.proc is not None and worker.proc.poll() is None
    ledger.refused(
        f"dead-letter flood, {sent} payloads up to {sent} kB ({when_full})",
        ok=within and accounted and kept_ends and cut > 0 and alive and good.lost == good.wrong == 0
        and metrics["iotgw_ingest_dead_letter_store_letters"] == len(letters),
        verdict=f"kept {len(letters)} letters / {kept_bytes} B"
                f" (bounds {LIMITS.max_rows} / {LIMITS.max_bytes}),"
                f" {cut} cut, {dropped:.0f} dropped and counted; per-gateway count names the flooder;"
                f" good gateway {good.stored}/{good.sent}")
