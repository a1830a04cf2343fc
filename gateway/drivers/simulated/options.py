"""The simulated driver's keys of a ``[[devices]]`` table: how many samples, the seed of
the signal, and the faults of field devices to imitate. Pure: checked when the file is
loaded, without importing the simulators."""

from __future__ import annotations

from typing import Annotated, Literal

from iotgw.devices.links import Frozen
from pydantic import Field


class FaultConfig(Frozen):
    """Faults a field device shows, each a probability per reading (drawn from the device's
    seed, so a run is repeatable) and counted by the simulator."""

    dropout: Annotated[float, Field(ge=0, le=1)] = 0.0  # no reading this turn
    stuck: Annotated[float, Field(ge=0, le=1)] = 0.0  # the previous values again
    spike: Annotated[float, Field(ge=0, le=1)] = 0.0  # one value jumps to 5 times itself
    duplicate: Annotated[float, Field(ge=0, le=1)] = 0.0  # the same reading sent twice
    epoch_1970: Annotated[float, Field(ge=0, le=1)] = 0.0  # a clock that was never set
    clock_skew_s: float = 0.0  # the device's clock runs this far ahead (negative: behind)


class Options(Frozen):
    driver: Literal["simulated"]
    # Stop after this many samples (tests, demos); none: never.
    samples: Annotated[int, Field(ge=1)] | None = None
    seed: int = 0
    faults: FaultConfig | None = None
