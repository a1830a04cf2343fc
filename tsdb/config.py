"""How a service reaches InfluxDB; one section shape for every service's config file."""

from __future__ import annotations

from typing import Annotated

from iotgw.tsdb.client import Backoff, InfluxClient
from pydantic import BaseModel, ConfigDict, Field, model_validator


class InfluxConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = "http://127.0.0.1:8086"
    database: str = "iotgw"
    token: str | None = None
    # InfluxDB 1.x with auth-enabled (the compose deployment): basic auth. Keep the password
    # out of the file with "${IOTGW_INFLUX_PASSWORD}" (see devices.config_files).
    username: str | None = None
    password: str | None = None
    raw_retention: str = "INF"  # InfluxQL duration of the raw data's retention policy
    timeout_s: Annotated[float, Field(gt=0)] = 10.0

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> InfluxConfig:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        if self.token is not None and self.username is not None:
            raise ValueError("either a token or a username and password, not both")
        return self

    def client(self, backoff: Backoff | None = None) -> InfluxClient:
        auth = (self.username, self.password) if self.username and self.password else None
        return InfluxClient(self.url, token=self.token, auth=auth, timeout_s=self.timeout_s,
                            backoff=backoff)
