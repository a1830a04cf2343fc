"""The device model: quantities, the profile catalogue, the device library, the telemetry
schema and the topic scheme. No I/O but reading its own data files (profiles, maps)."""

from iotgw.devices.config_files import ConfigError, Host, load_config, parse_config, url_host
from iotgw.devices.profiles import PROFILES, Profile, ProfileName, check_profile
from iotgw.devices.quantities import QUANTITIES, Kind, Quantity
from iotgw.devices.senml import SenmlDecoded, SenmlError, decode_senml
from iotgw.devices.telemetry import SCHEMA_VERSION, GatewayStatus, Quality, Reading, TelemetryBatch
from iotgw.devices.topics import (
    STATUS_SUBSCRIPTION,
    TELEMETRY_SUBSCRIPTION,
    Topic,
    TopicError,
    check_gateway_id,
    check_id,
    cmd_topic,
    parse_topic,
    result_topic,
    status_topic,
    telemetry_topic,
)

__all__ = [
    "PROFILES",
    "QUANTITIES",
    "SCHEMA_VERSION",
    "STATUS_SUBSCRIPTION",
    "TELEMETRY_SUBSCRIPTION",
    "ConfigError",
    "GatewayStatus",
    "Host",
    "Kind",
    "Profile",
    "ProfileName",
    "Quality",
    "Quantity",
    "Reading",
    "SenmlDecoded",
    "SenmlError",
    "TelemetryBatch",
    "Topic",
    "TopicError",
    "check_gateway_id",
    "check_id",
    "check_profile",
    "cmd_topic",
    "decode_senml",
    "load_config",
    "parse_config",
    "parse_topic",
    "result_topic",
    "status_topic",
    "telemetry_topic",
    "url_host",
]
