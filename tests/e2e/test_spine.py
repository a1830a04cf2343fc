"""Issue 2's must-show: 3 gateways x 20 devices x 50 readings arrive exactly once, with the
real broker, database, ingest and gateway processes killed and restarted mid-run."""

from __future__ import annotations

import json
import os
import re
import signal
import time

import httpx
import pytest
from iotgw.devices.register_maps import library_map
from iotgw.gateway import GatewayConfig
from iotgw.gateway.config import BrokerConfig, BufferConfig, DeviceConfig, ModbusLink, ReportConfig
from iotgw.registry import Gateway, make_engine, session_factory
from iotgw.simulators import write_config
from iotgw.simulators.modbus_device import ModbusDeviceSimulator
from iotgw.tsdb.schema import HOUR_MS, TELEMETRY, TOUCHED_HOURS

from iotgw.processes import IotgwProcess, free_port
from tests.e2e.spine import Spine, assert_exactly_sent, tally
from tests.faults import ledger
from tests.faults.ledger import Tally, seconds
from tests.iotgw.test_cli import iotgw

pytestmark = pytest.mark.integration

GATEWAYS, DEVICES, SAMPLES = 3, 20, 50


def _run_fleet(spine: Spine, interval_s: float):
    fleet = spine.fleet(GATEWAYS, DEVICES, SAMPLES, interval_s)
    return fleet, [spine.start_gateway(cfg) for cfg in fleet]


def _wait_exit(gateways, timeout_s: float = 90) -> None:
    for proc in gateways:
        assert proc.wait(timeout_s) == 0, proc.log_tail()


def test_every_reading_arrives_once_with_its_value(spine: Spine) -> None:
    spine.start_ingest()
    fleet, gateways = _run_fleet(spine, interval_s=0.05)
    _wait_exit(gateways)
    assert_exactly_sent(spine, fleet)
    # ... and every hour that received readings is marked for the rollup, no other
    hours = {row["time"] // HOUR_MS for s in spine.influx.query(
        spine.database, f'SELECT "quality" FROM "{TELEMETRY}"') for row in s.rows}
    touched = spine.influx.query(spine.database, f'SELECT "written_at" FROM "{TOUCHED_HOURS}"')
    assert {row["time"] // HOUR_MS for row in touched[0].rows} == hours


@pytest.mark.faults
def test_broker_killed_and_restarted_mid_run(spine: Spine) -> None:
    spine.start_ingest()
    time.sleep(1.5)  # the ingest session is in the broker's persisted state
    fleet, gateways = _run_fleet(spine, interval_s=0.1)
    spine.wait_until(lambda: spine.count() > 300, timeout_s=30, what="first readings")
    spine.broker.kill()
    time.sleep(seconds(1.0, 60.0))
    assert all(g.running for g in gateways), "gateways must keep polling while the broker is down"
    spine.broker.start()
    _wait_exit(gateways, 90 + seconds(0, 60))
    ledger.none_lost('broker kill -9 during publish, restarted', tally(spine, fleet))


@pytest.mark.faults
def test_influxd_down_for_10s_ingest_holds_acks(spine: Spine) -> None:
    """Ingest is even killed while InfluxDB is down: had it acknowledged what it could not
    write, those readings would be gone; the broker must redeliver them instead."""
    ingest = spine.start_ingest()
    fleet, gateways = _run_fleet(spine, interval_s=0.1)
    spine.wait_until(lambda: spine.count() > 300, timeout_s=30, what="first readings")
    spine.influxd.stop()
    outage_start = time.monotonic()
    time.sleep(5)
    ingest.kill()
    ingest.start()
    time.sleep(max(0.0, seconds(10, 180) - (time.monotonic() - outage_start)))
    spine.influxd.start()
    _wait_exit(gateways, 90 + seconds(0, 180))
    ledger.none_lost('InfluxDB down (and ingest kill -9 meanwhile)', tally(spine, fleet))


@pytest.mark.faults
def test_gateway_killed_mid_run_and_restarted(spine: Spine) -> None:
    spine.start_ingest()
    fleet, gateways = _run_fleet(spine, interval_s=0.1)
    spine.wait_until(lambda: spine.count() > 300, timeout_s=30, what="first readings")
    victim = gateways[1]
    victim.kill()
    time.sleep(0.5)
    victim.start()
    _wait_exit(gateways)
    ledger.none_lost('gateway kill -9 mid-write, restarted', tally(spine, fleet))


@pytest.mark.faults
def test_ingest_killed_mid_batch_and_restarted(spine: Spine) -> None:
    # Long batches: the kill lands while ingest holds received, unwritten messages.
    ingest = spine.start_ingest(max_wait_s=3.0)
    fleet, gateways = _run_fleet(spine, interval_s=0.1)
    spine.wait_until(lambda: spine.count() > 0, timeout_s=30, what="first batch")
    time.sleep(1.5)
    ingest.kill()
    time.sleep(1.0)
    ingest.start()
    _wait_exit(gateways)
    ledger.none_lost('ingest kill -9 mid-batch, restarted', tally(spine, fleet))


MALFORMED: list[tuple[str, bytes, str]] = [
    ("not json", b"\x00\xffgarbage", "invalid telemetry"),
    ("empty", b"", "invalid telemetry"),
    ("wrong version", json.dumps({"v": 2, "gateway": "{gw}", "seq": 1, "readings": [
        {"device": "d1", "ts": 1, "values": {"voltage": 230.0}}]}).encode(), "invalid telemetry: v"),
    ("unknown quantity", json.dumps({"v": 1, "gateway": "{gw}", "seq": 1, "readings": [
        {"device": "d1", "ts": 1_700_000_000_000, "values": {"flux_capacitance": 1.21}}]}).encode(),
     "unknown quantities ['flux_capacitance']"),
    ("string value", json.dumps({"v": 1, "gateway": "{gw}", "seq": 1, "readings": [
        {"device": "d1", "ts": 1_700_000_000_000, "values": {"voltage": "high"}}]}).encode(),
     "readings.0.values.voltage"),
    ("other gateway", json.dumps({"v": 1, "gateway": "someone-else", "seq": 1, "readings": [
        {"device": "d1", "ts": 1_700_000_000_000, "values": {"voltage": 230.0}}]}).encode(),
     "differs from topic gateway"),
]


def test_malformed_payloads_are_dead_lettered_and_good_readings_arrive(spine: Spine) -> None:
    metrics_port = free_port()
    spine.start_ingest(metrics_port=metrics_port)
    fleet, gateways = _run_fleet(spine, interval_s=0.05)
    rogue = f"{spine.name}-rogue"
    now_ms = int(time.time() * 1000)
    mixed = json.dumps({"v": 1, "gateway": rogue, "seq": 7, "readings": [
        {"device": "meter-1", "ts": now_ms, "values": {"voltage": 231.5}},
        {"device": "meter-2", "ts": now_ms, "values": {"voltage": 9999.0}},
    ]}).encode()
    spine.publish_raw(rogue, [p.replace(b"{gw}", rogue.encode()) for _, p, _ in MALFORMED] + [mixed])
    _wait_exit(gateways)
    expected = [reason for _, _, reason in MALFORMED] + ["voltage=9999.0 outside [0, 500] V"]
    spine.wait_until(lambda: len(spine.dead_letters()) >= len(expected), timeout_s=30,
                     what="dead letters")
    letters = spine.dead_letters()
    assert len(letters) == len(expected)
    for reason in expected:
        assert any(reason in letter.reason for letter in letters), (reason, [x.reason for x in letters])
    split_off = next(x for x in letters if "9999" in x.reason)
    assert json.loads(split_off.payload)["readings"] == [
        {"device": "meter-2", "ts": now_ms, "values": {"voltage": 9999.0}, "quality": "good"}]
    # The good reading of the mixed batch is stored beside the fleet's.
    stored = spine.influx.query(
        spine.database, 'SELECT "voltage" FROM "telemetry" WHERE "device" = \'meter-1\'')
    assert stored and stored[0].rows == [{"time": now_ms, "voltage": 231.5}]
    # Subtract the one stray point so the fleet check sees exactly its own.
    spine.influx.query(spine.database, 'DROP SERIES FROM "telemetry" WHERE "device" = \'meter-1\'')
    assert_exactly_sent(spine, fleet)
    metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
    assert 'iotgw_ingest_dead_letters_total{kind="invalid"} 5.0' in metrics
    assert 'iotgw_ingest_dead_letters_total{kind="gateway_mismatch"} 1.0' in metrics
    assert 'iotgw_ingest_dead_letters_total{kind="out_of_range"} 1.0' in metrics
    assert 'iotgw_ingest_reading_outcomes_total{outcome="out_of_range"} 1.0' in metrics
    health = spine.influx.query(spine.database, 'SELECT count("online") FROM "gateway_health"')
    health_points = int(health[0].rows[0]["count"]) if health else 0
    # Every stored point was written (status points may be written more than once: a birth
    # and a heartbeat in the same millisecond, a retained status delivered again).
    written = float(re.search(r"^iotgw_ingest_written_points_total (\S+)$", metrics, re.M).group(1))
    assert written >= 3001 + health_points
    assert "iotgw_ingest_batch_seconds_count" in metrics and "iotgw_ingest_lag_seconds" in metrics


def test_senml_from_a_node_is_stored(spine: Spine) -> None:
    spine.start_ingest()
    node = f"{spine.name}-node"
    pack = (b'[{"bn":"urn:dev:ow:10e2073a01080063:","bt":1763800000,"n":"voltage","u":"V","v":120.1},'
            b'{"n":"current","u":"A","v":1.2,"t":60}]')
    spine.publish_raw(node, [pack])
    assert spine.wait_for_count(2, timeout_s=30) == 2
    rows = spine.stored()["urn.dev.ow.10e2073a01080063"]  # the URN as an id (devices.senml_names)
    assert [(r["time"], r["voltage"], r["current"], r["gateway"]) for r in rows] == [
        (1763800000000, 120.1, None, node), (1763800060000, None, 1.2, node)]


def test_dead_letters_replayed_after_a_fix_are_stored(spine: Spine) -> None:
    """A message InfluxDB rejects (a field type conflict left by older data) is
    dead-lettered; once the operator drops the conflicting data, replay stores it."""
    now_ms = int(time.time() * 1000)
    ingest_cfg = spine.ingest_config()
    spine.start_ingest()  # creates the `raw` retention policy, where the conflict must be
    spine.wait_until(lambda: any(row["name"] == "raw" for s in spine.influx.query(
        spine.database, f'SHOW RETENTION POLICIES ON "{spine.database}"') for row in s.rows),
        timeout_s=30, what="the raw retention policy")
    spine.influx.write_lines(spine.database, f'telemetry,device=m-1,gateway=x voltage="n/a" {now_ms}',
                             retention_policy="raw")
    gw = f"{spine.name}-gw"
    batch = json.dumps({"v": 1, "gateway": gw, "seq": 1, "readings": [
        {"device": "m-1", "ts": now_ms + 1, "values": {"voltage": 229.5}}]}).encode()
    spine.publish_raw(gw, [batch])
    spine.wait_until(lambda: len(spine.dead_letters()) == 1, timeout_s=30, what="the dead letter")
    assert "field type conflict" in spine.dead_letters()[0].reason

    spine.influx.query(spine.database, 'DROP MEASUREMENT "telemetry"')  # the operator's fix
    config = write_config(ingest_cfg.model_copy(update={"mqtt": ingest_cfg.mqtt.model_copy(
        update={"client_id": f"{spine.name}-operator"})}), spine.workdir / "replay.toml")
    result = iotgw("ingest", "replay", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "replayed 1, kept 0" in result.stderr
    spine.wait_until(lambda: spine.count() == 1, timeout_s=30, what="the replayed point")
    assert spine.dead_letters() == []
    rows = spine.influx.query(spine.database, 'SELECT "voltage" FROM "telemetry"')[0].rows
    assert rows == [{"time": now_ms + 1, "voltage": 229.5}]


@pytest.mark.faults
def test_two_workers_share_the_stream_and_survive_losing_one(spine: Spine) -> None:
    """Both workers get a share, every reading is stored once, and the share of a worker
    killed mid-stream waits in its broker session until it comes back."""
    first = spine.start_ingest(worker=1)
    second = spine.start_ingest(worker=2)
    fleet, gateways = _run_fleet(spine, interval_s=0.1)
    spine.wait_until(lambda: spine.count() > 300, timeout_s=30, what="first readings")
    second.kill()
    time.sleep(1.0)
    second.start()
    _wait_exit(gateways)
    ledger.none_lost('one of two ingest workers kill -9', tally(spine, fleet))
    received = [_received_on_exit(worker) for worker in (first, second)]
    assert all(n > 0 for n in received), f"messages per worker: {received}"


def _received_on_exit(worker: IotgwProcess) -> int:
    """Stop the worker and read the messages it received from its final stats line."""
    worker.stop()
    final = [line for line in worker.log_path.read_text().splitlines() if "final stats" in line]
    return int(final[-1].split("received=")[1].split(",")[0])


def test_ingest_enriches_from_the_registry_and_dead_letters_unknown_devices(spine: Spine) -> None:
    url = f"sqlite:///{spine.workdir / 'registry.sqlite'}"
    (spine.workdir / "org.csv").write_text(
        "id,name,type,sector,ward_code,since\ncoop-1,HTX 1,agricultural_cooperative,agriculture,"
        "70,2025-01-01\n")
    gw = f"{spine.name}-gw"
    (spine.workdir / "gw.csv").write_text(f"id,ward_code,installed_on\n{gw},70,2025-01-01\n")
    (spine.workdir / "dev.csv").write_text(
        "id,gateway_id,profile,sector,expected_interval_s,installed_on,ward_code,organisation_id\n"
        f"soil-9,{gw},soil_probe,agriculture,60,2025-01-01,70,coop-1\n")
    for args in (["init"], ["import", "organisations", str(spine.workdir / "org.csv")],
                 ["import", "gateways", str(spine.workdir / "gw.csv")],
                 ["import", "devices", str(spine.workdir / "dev.csv")]):
        assert iotgw("registry", *args, "--url", url).returncode == 0
    spine.start_ingest(registry_url=url)
    now_ms = int(time.time() * 1000)
    spine.publish_raw(gw, [json.dumps({"v": 1, "gateway": gw, "seq": 1, "readings": [
        {"device": "soil-9", "ts": now_ms, "values": {"soil_moisture": 33.5}},
        {"device": "stranger", "ts": now_ms, "values": {"soil_moisture": 12.0}},
    ]}).encode()])
    spine.wait_until(lambda: spine.count() == 1 and len(spine.dead_letters()) == 1,
                     timeout_s=30, what="one point and one dead letter")
    [series] = spine.influx.query(spine.database, 'SELECT * FROM "telemetry" GROUP BY *')
    assert series.tags == {"commune": "70", "device": "soil-9", "gateway": gw,
                           "organisation": "coop-1", "organisation_type": "agricultural_cooperative",
                           "profile": "soil_probe", "province": "1", "sector": "agriculture"}
    assert "device stranger: not in the registry" in spine.dead_letters()[0].reason


@pytest.mark.faults
def test_supervised_workers_restart_and_lose_nothing(spine: Spine) -> None:
    """`ingest run --workers 2`: a worker SIGKILLed mid-stream is restarted by the
    supervisor under its client id, and its share of the stream comes back with it."""
    supervisor = spine.start_ingest(workers=2)
    spine.wait_until(lambda: supervisor.log_path.read_text().count("subscribed to") >= 2,
                     timeout_s=30, what="both workers subscribed")
    fleet, gateways = _run_fleet(spine, interval_s=0.1)
    spine.wait_until(lambda: spine.count() > 300, timeout_s=30, what="first readings")
    started = re.search(r"ingest worker 2 started \(pid (\d+)\)", supervisor.log_path.read_text())
    assert started is not None
    os.kill(int(started.group(1)), signal.SIGKILL)
    _wait_exit(gateways)
    ledger.none_lost('supervised ingest worker kill -9', tally(spine, fleet))
    log = supervisor.log_path.read_text()
    assert "ingest worker 2 exited with -9; restarting" in log
    assert len(re.findall(r"ingest worker 2 started", log)) == 2
    supervisor.stop()
    assert supervisor.proc is not None and supervisor.proc.returncode == 0


def test_gateway_status_becomes_health_and_last_seen(spine: Spine) -> None:
    url = f"sqlite:///{spine.workdir / 'registry.sqlite'}"
    fleet = spine.fleet(1, 2, 5, 0.05)
    gateway_id = fleet[0].gateway_id
    (spine.workdir / "gw.csv").write_text(f"id,ward_code,installed_on\n{gateway_id},70,2025-01-01\n")
    assert iotgw("registry", "init", "--url", url).returncode == 0
    assert iotgw("registry", "import", "gateways", str(spine.workdir / "gw.csv"), "--url", url
                 ).returncode == 0
    ingest = spine.start_ingest(registry_url=url)
    agent = spine.start_gateway(fleet[0])
    assert agent.wait(60) == 0, agent.log_tail()

    def health() -> list[dict]:
        series = spine.influx.query(
            spine.database,
            f'SELECT "online", "uptime_s" FROM "gateway_health" WHERE "gateway" = \'{gateway_id}\'')
        return series[0].rows if series else []

    spine.wait_until(lambda: len(health()) >= 2 and health()[-1]["online"] is False,
                     timeout_s=30, what="the clean stop's offline status")
    *online, offline = health()  # birth, heartbeats, then the clean stop
    assert all(point["online"] is True for point in online) and offline["online"] is False
    # A heartbeat stamped in the clean stop's millisecond shares its point: the offline
    # status overwrote its `online` and left its numbers. Ingest saw the gateway online then.
    last_online = offline["time"] if offline["uptime_s"] is not None else online[-1]["time"]

    engine = make_engine(url)
    sessions = session_factory(engine)

    def last_seen_ms() -> int | None:  # recorded just after the write that Influx already shows
        with sessions() as session:
            seen = session.get(Gateway, gateway_id).last_seen_at
        return None if seen is None else int(seen.timestamp() * 1000)

    try:
        spine.wait_until(lambda: last_seen_ms() == last_online, timeout_s=30,
                         what=f"last_seen_at at the last online status {last_online}")
    except AssertionError as exc:  # a dropped update (ingest warns) or a late one
        warned = [line for line in ingest.log_tail(500).splitlines() if "last-seen" in line]
        raise AssertionError(f"{exc}; it is {last_seen_ms()}; ingest warned: {warned}") from None
    finally:
        engine.dispose()


def _metric(port: int, name: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    match = re.search(rf"^{name} (\S+)$", text, re.M)
    assert match is not None, f"{name} not in /metrics"
    return float(match.group(1))


@pytest.mark.faults
def test_influxdb_down_ingest_holds_only_its_window_and_the_broker_the_rest(spine: Spine) -> None:
    """Back-pressure: with InfluxDB down, ingest holds at most `receive_maximum`
    unacknowledged messages (its memory is bounded by that), the broker keeps the rest,
    and everything is stored once InfluxDB is back."""
    port = free_port()
    spine.start_ingest(metrics_port=port, receive_maximum=100)
    spine.wait_until(lambda: any(row["name"] == "raw" for s in spine.influx.query(
        spine.database, f'SHOW RETENTION POLICIES ON "{spine.database}"') for row in s.rows),
        timeout_s=30, what="ingest's database set-up")
    # The broker hands a new subscription every gateway's retained status (earlier tests'
    # gateways too): count from once those are written and acknowledged.
    received = "iotgw_ingest_received_messages_total"
    acked = "iotgw_ingest_acknowledged_messages_total"
    time.sleep(1.0)
    spine.wait_until(lambda: _metric(port, received) == _metric(port, acked), timeout_s=30,
                     what="retained statuses written")
    base = _metric(port, received)
    spine.influxd.stop()
    gw = f"{spine.name}-gw"
    now_ms = int(time.time() * 1000)
    spine.publish_raw(gw, [json.dumps({"v": 1, "gateway": gw, "seq": n, "readings": [
        {"device": "d-1", "ts": now_ms - n, "values": {"voltage": 230.0}}]}).encode()
        for n in range(1_000)])
    spine.wait_until(lambda: _metric(port, received) - base >= 100, timeout_s=30,
                     what="a full window")
    time.sleep(2.0)  # had the window not held, more would have arrived by now
    assert _metric(port, received) - base == 100
    assert _metric(port, acked) == base
    spine.influxd.start()
    stored = spine.wait_for_count(1_000, timeout_s=60)
    ledger.none_lost("InfluxDB down: ingest holds its window, the broker the rest",
                     Tally(1_000, stored, max(0, 1_000 - stored), max(0, stored - 1_000)))
    assert _metric(port, received) - base == 1_000


@pytest.mark.faults
def test_a_long_outage_with_a_small_buffer_drops_oldest_counted_in_the_heartbeat(
    spine: Spine,
) -> None:
    """Broker down while the gateway reads 1,000 readings into a 20 KB buffer: the oldest
    are dropped, the heartbeat reports how many, and stored + dropped = read, exactly."""
    spine.start_ingest()
    [cfg] = spine.fleet(1, 10, 100, 0.02)
    cfg = cfg.model_copy(update={"buffer": cfg.buffer.model_copy(update={"max_bytes": 20_000})})
    spine.broker.stop()
    agent = spine.start_gateway(cfg)
    time.sleep(100 * 0.02 + 2.0)  # every sample taken, into the capped buffer
    assert agent.running
    spine.broker.start()
    assert agent.wait(60) == 0, agent.log_tail()
    assert "buffer limits: dropped" in agent.log_path.read_text()

    def dropped() -> float:
        series = spine.influx.query(spine.database, 'SELECT last("dropped_full") FROM '
                                    f'"gateway_health" WHERE "gateway" = \'{cfg.gateway_id}\'')
        return series[0].rows[0]["last"] if series else 0.0

    spine.wait_until(lambda: dropped() > 0, timeout_s=30, what="a heartbeat with the drops")
    assert spine.wait_for_count(1_000 - int(dropped()), timeout_s=30) == 1_000 - int(dropped())
    time.sleep(1.0)
    ledger.policy("long outage fills the gateway buffer cap", sent=1_000, stored=spine.count(),
                  counted=int(dropped()), what="dropped oldest, reported in the heartbeat")


def test_modbus_readings_reach_influxdb_and_a_dead_device_is_counted(spine: Spine) -> None:
    """A gateway with a Modbus TCP meter (served by pymodbus), the same meter read with
    report-on-change, and a meter that never answers: the live one's readings are stored,
    the steady one is published once, and the dead one stalls nothing; both show in health."""
    meter_port = free_port()
    meter = ModbusDeviceSimulator(library_map("eastron_sdm630m"),
                                  lambda: {"voltage": 231.0, "current": 2.5, "active_energy": 42.0,
                                           "active_power": 577.5, "power_factor": 1.0, "frequency": 50.0},
                                  tcp_port=meter_port)
    meter.start()
    try:
        spine.start_ingest()
        cfg = GatewayConfig(
            gateway_id=f"{spine.name}-mb", broker=BrokerConfig(port=spine.broker.port),
            buffer=BufferConfig(path=spine.workdir / "mb.sqlite"),
            devices=[DeviceConfig(id=f"{spine.name}-meter", driver="modbus", profile="electricity_meter",
                                  interval_s=0.1, modbus=ModbusLink(host="127.0.0.1", port=meter_port,
                                                                    model="eastron_sdm630m")),
                     DeviceConfig(id=f"{spine.name}-quiet", driver="modbus", profile="electricity_meter",
                                  interval_s=0.1, modbus=ModbusLink(host="127.0.0.1", port=meter_port,
                                                                    model="eastron_sdm630m"),
                                  report=ReportConfig(max_silence_s=3600)),
                     DeviceConfig(id=f"{spine.name}-dead", driver="modbus", profile="water_meter",
                                  interval_s=0.5, modbus=ModbusLink(host="127.0.0.1", port=free_port(),
                                                                    timeout_s=0.2,
                                                                    model="generic_tuf_2000m"))])
        spine.start_gateway(cfg)
        spine.wait_until(lambda: spine.count() >= 20, what="20 Modbus readings stored")
        rows = spine.stored()[f"{spine.name}-meter"]
        assert {(r["voltage"], r["current"], r["active_energy"]) for r in rows} == {(231.0, 2.5, 42.0)}
        assert f"{spine.name}-dead" not in spine.stored()

        def read_errors() -> float:
            series = spine.influx.query(spine.database, 'SELECT last("read_errors") FROM "gateway_health"')
            return series[0].rows[0]["last"] if series else 0
        spine.wait_until(lambda: read_errors() >= 2, what="read errors in the heartbeat")

        def suppressed() -> float:
            series = spine.influx.query(spine.database, 'SELECT last("suppressed") FROM "gateway_health"')
            return series[0].rows[0]["last"] if series else 0
        spine.wait_until(lambda: suppressed() >= 10, what="report-on-change in the heartbeat")
        assert len(spine.stored()[f"{spine.name}-quiet"]) == 1  # its values never move
    finally:
        meter.stop()
