"""What every service's configuration shares: the frozen base, the link to the MQTT broker
and the link to the registry. Each package's ``config.py`` builds on these, so a broker or
a registry is written the same way in every file (gateway, ingest, rollup, API)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from iotgw.devices.config_files import Host
from pydantic import BaseModel, ConfigDict, Field, model_validator


class Frozen(BaseModel):
    """Validated once at load time, immutable after; an unknown key is an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class TlsConfig(Frozen):
    """TLS to the broker; with ``cert_file`` and ``key_file``, mutual TLS. Relative paths
    are relative to the configuration file, so a bundle can be moved as a whole."""

    ca_file: Path
    cert_file: Path | None = None
    key_file: Path | None = None

    @model_validator(mode="after")
    def _cert_with_key(self) -> TlsConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        return self

    def relative_to(self, directory: Path) -> TlsConfig:
        def anchor(path: Path | None) -> Path | None:
            return None if path is None else directory / path

        return self.model_copy(update={"ca_file": anchor(self.ca_file),
                                       "cert_file": anchor(self.cert_file),
                                       "key_file": anchor(self.key_file)})


class BrokerLink(Frozen):
    """How a service reaches the MQTT broker."""

    host: Host = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 1883
    username: str | None = None
    password: str | None = None
    tls: TlsConfig | None = None
    keepalive_s: Annotated[int, Field(ge=5, le=3600)] = 30


class RegistryLink(Frozen):
    """The registry: a SQLAlchemy URL (a SQLite file, or ``postgresql+psycopg://...``)."""

    url: str = "sqlite:///registry.sqlite"
    # A reader that caches what it read (ingest's tags) looks for changes this often.
    refresh_s: Annotated[float, Field(gt=0)] = 5.0


def migrate_registry_url(data: Any) -> Any:
    """Files written before ``[registry]`` named the registry ``registry_url = "..."``."""
    if isinstance(data, dict) and "registry_url" in data:
        data = dict(data)
        if "registry" in data:
            raise ValueError("registry_url and [registry] both given: keep [registry] url")
        data["registry"] = {"url": data.pop("registry_url")}
    return data
