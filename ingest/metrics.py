"""Ingest's metrics in Prometheus text format, read from its ``Stats`` at scrape time.

One source of truth: the service counts in ``Stats`` (which its log lines print too), and
this collector turns that into metric families when Prometheus scrapes, so nothing is
counted twice or drifts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from iotgw.ingest.stats import Stats
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector


class StatsCollector(Collector):
    def __init__(self, stats: Stats, write_retries: Callable[[], int]) -> None:
        self._stats = stats
        self._write_retries = write_retries

    def collect(self) -> Iterator[Metric]:
        s = self._stats
        yield CounterMetricFamily("iotgw_ingest_received_messages",
                                  "MQTT messages received", value=s.received)
        yield CounterMetricFamily("iotgw_ingest_written_points",
                                  "Points written to InfluxDB", value=s.written_points)
        yield CounterMetricFamily("iotgw_ingest_acknowledged_messages",
                                  "Messages acknowledged to the broker", value=s.acked)
        yield CounterMetricFamily("iotgw_ingest_decoder_errors",
                                  "Messages the decoder raised on (a bug), dead-lettered as decoder_error",
                                  value=s.decoder_errors)
        yield _by("iotgw_ingest_dead_letters", "Dead letters recorded, by kind of reason",
                  "kind", s.dead_lettered_by_kind)
        yield _by("iotgw_ingest_dead_letters_by_gateway",
                  "Dead letters recorded, by the gateway of their topic: who floods",
                  "gateway", s.dead_lettered_by_gateway)
        yield _by("iotgw_ingest_dead_letters_dropped",
                  "Dead letters dropped because the store was full, by its when_full policy",
                  "when_full", s.dead_letters_dropped)
        rows, size = s.dead_letter_store
        yield GaugeMetricFamily("iotgw_ingest_dead_letter_store_letters",
                                "Letters in the dead-letter store, at the last write", value=rows)
        yield GaugeMetricFamily("iotgw_ingest_dead_letter_store_bytes",
                                "Payload bytes in the dead-letter store, at the last write", value=size)
        yield _by("iotgw_ingest_reading_outcomes", "Readings a policy applied to, by outcome",
                  "outcome", s.outcomes)
        yield CounterMetricFamily("iotgw_ingest_write_retries",
                                  "InfluxDB requests retried", value=self._write_retries())
        yield SummaryMetricFamily("iotgw_ingest_batch_seconds",
                                  "From a batch's first message to its acknowledgement",
                                  count_value=s.batches, sum_value=s.batch_seconds)
        yield GaugeMetricFamily("iotgw_ingest_lag_seconds",
                                "At the last flush: now minus the newest reading's device time",
                                value=s.lag_s)
        if s.registry is not None:
            yield GaugeMetricFamily("iotgw_ingest_registry_stale_seconds",
                                    "Seconds since the last successful registry revision check while"
                                    " the registry cannot be read (tags served as last read); 0 when fresh",
                                    value=s.registry.stale_s())
            yield CounterMetricFamily("iotgw_ingest_registry_read_failures",
                                      "Registry reads (revision checks, device lookups) that failed",
                                      value=s.registry.read_failures)
            yield CounterMetricFamily("iotgw_ingest_registry_lookups",
                                      "Device histories read from the registry, one query each: at most"
                                      " one per placed device and revision; unregistered ids cost none",
                                      value=s.registry.lookups)
            yield GaugeMetricFamily("iotgw_ingest_tag_cache_devices",
                                    "Device histories the tag cache holds: at most the placed devices",
                                    value=s.registry.held)
            yield GaugeMetricFamily("iotgw_ingest_registry_placed_devices",
                                    "Devices placed in the registry at its last good read",
                                    value=s.registry.placed)


def _by(name: str, documentation: str, label: str, counts: Mapping[str, int]) -> Metric:
    """A counter with one series per label value, in a stable order."""
    family = CounterMetricFamily(name, documentation, labels=[label])
    for value, count in sorted(counts.items()):
        family.add_metric([value], count)
    return family


def serve_metrics(stats: Stats, write_retries: Callable[[], int], *, host: str, port: int) -> None:
    """Serve ``/metrics`` from a daemon thread for the life of the process."""
    registry = CollectorRegistry()
    registry.register(StatsCollector(stats, write_retries))
    start_http_server(port, addr=host, registry=registry)
