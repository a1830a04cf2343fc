"""The OPC UA driver's keys of a ``[[devices]]`` table: ``opcua = { ... }``, the server's
endpoint, its security, and which node is which quantity. Pure (asyncua is not imported):
checked when the file is loaded (the quantities against the device's profile when its
source is made)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from iotgw.devices import QUANTITIES
from iotgw.devices.links import Frozen
from iotgw.gateway.drivers.profile_quantities import check_profile_quantities
from pydantic import Field, field_validator, model_validator

# OPC UA's string form of a node id (Part 6, 5.3.1.10): "ns=2;s=Line1.Temperature",
# "i=2258", "nsu=urn:example;s=Pump", "ns=3;g=<guid>", "ns=1;b=<base64>".
NODE_ID = r"^((ns=\d+|nsu=[^;]+);)?[isgb]=.+$"


class NodeOption(Frozen):
    """One quantity's node, and the factor its value is multiplied by (tenths: 0.1)."""

    node: Annotated[str, Field(pattern=NODE_ID)]
    scale: float = 1.0


class OpcuaLink(Frozen):
    endpoint: Annotated[str, Field(pattern=r"^opc\.tcp://[^/:]+(:\d+)?(/.*)?$")]
    # quantity -> its node: "ns=2;s=Line1.Temperature", or { node = "...", scale = 0.1 }.
    nodes: Annotated[dict[str, NodeOption], Field(min_length=1)]
    security_policy: Literal["None", "Basic256Sha256"] = "None"
    security_mode: Literal["Sign", "SignAndEncrypt"] = "SignAndEncrypt"
    # Basic256Sha256: the gateway's certificate and key (PEM or DER), and the application
    # URI written in that certificate; without server_certificate the server's is taken
    # from its endpoint list (trust on first use, per connection).
    certificate: Path | None = None
    private_key: Path | None = None
    server_certificate: Path | None = None
    application_uri: str | None = None
    username: str | None = None
    password: str | None = None
    # Each request waits this long for its answer: a dead server holds up the poll loop
    # this long per try, so keep it short.
    timeout_s: Annotated[float, Field(gt=0, le=30)] = 2.0
    # After a failure, the next connection is tried this long later, doubling per failure.
    reconnect_min_s: Annotated[float, Field(gt=0)] = 1.0
    reconnect_max_s: Annotated[float, Field(gt=0)] = 60.0

    @field_validator("nodes", mode="before")
    @classmethod
    def _plain_node_ids(cls, nodes: Any) -> Any:
        if not isinstance(nodes, dict):
            return nodes
        return {q: {"node": n} if isinstance(n, str) else n for q, n in nodes.items()}

    @field_validator("nodes")
    @classmethod
    def _known_quantities(cls, nodes: dict[str, NodeOption]) -> dict[str, NodeOption]:
        if unknown := sorted(set(nodes) - QUANTITIES.keys()):
            raise ValueError(f"unknown quantities {unknown}; known: {sorted(QUANTITIES)}")
        return nodes

    @model_validator(mode="after")
    def _security_with_its_files(self) -> OpcuaLink:
        files = self.certificate is not None and self.private_key is not None
        if self.security_policy == "Basic256Sha256" and not files:
            raise ValueError("security_policy Basic256Sha256 needs certificate and private_key")
        if self.security_policy == "None" and (self.certificate or self.private_key):
            raise ValueError("certificate and private_key are for security_policy Basic256Sha256")
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s must not be below reconnect_min_s")
        return self


class Options(Frozen):
    driver: Literal["opcua"]
    opcua: OpcuaLink

    @model_validator(mode="after")
    def _quantities_of_the_profile(self) -> Options:
        check_profile_quantities(self, self.opcua.nodes)
        return self

    def relative_to(self, folder: Path) -> Options:
        """Certificate files named relative to the configuration file are found from its
        folder, whatever the working directory of the agent (systemd starts it in ``/``)."""
        update = {key: folder / path for key in ("certificate", "private_key", "server_certificate")
                  if (path := getattr(self.opcua, key)) is not None and not path.is_absolute()}
        if not update:
            return self
        return self.model_copy(update={"opcua": self.opcua.model_copy(update=update)})
