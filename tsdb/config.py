"""How a service reaches InfluxDB; one section shape for every service's config file."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from tsdb.client import Backoff, InfluxClient


class InfluxConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = "http://127.0.0.1:8086"
    database: str = "iotgw"
    token: str | None = None
    raw_retention: str = "INF"  # InfluxQL duration of the raw data's retention policy
    timeout_s: Annotated[float, Field(gt=0)] = 10.0

    def client(self, backoff: Backoff | None = None) -> InfluxClient:
        return InfluxClient(self.url, token=self.token, timeout_s=self.timeout_s, backoff=backoff)
