"""The LoRaWAN driver's keys of a ``[[devices]]`` table: ``lorawan = { ... }``, where
ChirpStack publishes the device's uplinks and which decoded fields are which quantities.
Pure: checked when the file is loaded (the fields' quantities against the device's
profile when its source is made)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from iotgw.devices import QUANTITIES
from iotgw.devices.links import BrokerLink, Frozen
from iotgw.gateway.drivers.profile_quantities import check_profile_quantities
from pydantic import Field, field_validator, model_validator


class FieldOption(Frozen):
    """One quantity in the codec's decoded ``object``: a dotted path into it, and the factor
    its value is multiplied by (a codec that gives tenths: ``scale = 0.1``)."""

    quantity: str
    scale: float = 1.0

    @field_validator("quantity")
    @classmethod
    def _known_quantity(cls, quantity: str) -> str:
        if quantity not in QUANTITIES:
            raise ValueError(f"unknown quantity {quantity!r}; known: {sorted(QUANTITIES)}")
        return quantity


class LorawanLink(Frozen):
    # ChirpStack's MQTT broker (its MQTT integration), not the gateway's upstream broker.
    broker: BrokerLink = BrokerLink()
    dev_eui: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{16}$")]
    # "+": any application; an application's UUID narrows the subscription to it.
    application_id: Annotated[str, Field(pattern=r"^(\+|[0-9a-fA-F-]{1,64})$")] = "+"
    fields: Annotated[dict[str, FieldOption], Field(min_length=1)]

    @field_validator("dev_eui")
    @classmethod
    def _lower(cls, dev_eui: str) -> str:
        return dev_eui.lower()  # as ChirpStack writes it in topics and events

    @field_validator("fields")
    @classmethod
    def _one_path_per_quantity(cls, fields: dict[str, FieldOption]) -> dict[str, FieldOption]:
        quantities = [f.quantity for f in fields.values()]
        if twice := sorted({q for q in quantities if quantities.count(q) > 1}):
            raise ValueError(f"quantities mapped from two fields: {twice}")
        return fields


class Options(Frozen):
    driver: Literal["lorawan"]
    lorawan: LorawanLink

    @model_validator(mode="after")
    def _quantities_of_the_profile(self) -> Options:
        check_profile_quantities(self, (f.quantity for f in self.lorawan.fields.values()))
        return self

    def relative_to(self, folder: Path) -> Options:
        """Certificate files named relative to the configuration file are found from its folder."""
        tls = self.lorawan.broker.tls
        if tls is None:
            return self
        broker = self.lorawan.broker.model_copy(update={"tls": tls.relative_to(folder)})
        return self.model_copy(update={"lorawan": self.lorawan.model_copy(update={"broker": broker})})
