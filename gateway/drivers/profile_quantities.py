"""The check every driver's options make of the quantities they map against the device's
profile, so a configuration file is refused the same way whatever the driver."""

from __future__ import annotations

from collections.abc import Iterable

from iotgw.devices.profiles import PROFILES


def check_profile_quantities(options: object, quantities: Iterable[str]) -> None:
    """Joined to ``DeviceConfig`` (gateway/config.py), a driver's ``Options`` model has the
    device's profile: a quantity mapped that the profile lacks is an error of the file's line.

    Raises:
        ValueError: naming the profile, the stray quantities and the profile's own.
    """
    profile = PROFILES.get(getattr(options, "profile", ""))
    if profile is not None and (stray := sorted(set(quantities) - set(profile.quantities))):
        raise ValueError(f"profile {profile.name} has no {stray}; it has {profile.quantities}")
