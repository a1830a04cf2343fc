from __future__ import annotations

from typing import Annotated

import pytest
from iotgw.devices import ConfigError, Host, parse_config
from pydantic import BaseModel, Field


class Inner(BaseModel):
    port: Annotated[int, Field(ge=1, le=65535)]


class Model(BaseModel):
    name: str
    inner: Inner


def test_error_names_file_line_key_and_expectation() -> None:
    text = 'name = "x"\n\n[inner]\nport = 70000\n'
    with pytest.raises(ConfigError) as caught:
        parse_config(text, Model, source="gw.toml")
    assert str(caught.value) == (
        "gw.toml: line 4, inner.port: Input should be less than or equal to 65535")


def test_syntax_error_names_the_file() -> None:
    with pytest.raises(ConfigError, match=r"gw\.toml: not valid TOML: .*line 2"):
        parse_config('name = "x"\ninner = ]\nz = 1', Model, source="gw.toml")


def test_missing_key_is_reported() -> None:
    with pytest.raises(ConfigError, match=r"gw\.toml: inner: Field required"):
        parse_config('name = "x"', Model, source="gw.toml")


def test_values_name_environment_variables() -> None:
    text = 'name = "user:${SECRET} $${LITERAL}"\n\n[inner]\nport = "${PORT}"\n'
    model = parse_config(text, Model, source="gw.toml", env={"SECRET": "s3", "PORT": "1884"})
    assert model.name == "user:s3 ${LITERAL}"
    assert model.inner.port == 1884


def test_an_unset_variable_names_file_line_key_and_variable() -> None:
    text = 'name = "x"\n\n[inner]\nport = "${BROKER_PORT}"\n'
    with pytest.raises(ConfigError) as caught:
        parse_config(text, Model, source="gw.toml", env={})
    assert str(caught.value) == (
        "gw.toml: line 4, inner.port: environment variable BROKER_PORT is not set")


class Listen(BaseModel):
    host: Host


@pytest.mark.parametrize("written, used", [
    ("::1", "::1"), ("[::1]", "::1"), ("[2001:DB8::1]", "2001:db8::1"),
    ("mqtt.example.vn", "mqtt.example.vn"), ("10.0.0.5", "10.0.0.5"),
])
def test_hosts_take_ipv6_literals_bare_or_bracketed(written: str, used: str) -> None:
    assert parse_config(f'host = "{written}"', Listen, source="x.toml").host == used


@pytest.mark.parametrize("written", ["[mqtt.example.vn]", "[::1", ""])
def test_a_malformed_host_is_refused(written: str) -> None:
    with pytest.raises(ConfigError, match=r"x\.toml: line 1, host: Value error"):
        parse_config(f'host = "{written}"', Listen, source="x.toml")


class Register(BaseModel):
    address: Annotated[int, Field(ge=0)]


class Device(BaseModel):
    id: Annotated[str, Field(pattern=r"^[a-z0-9-]+$")]
    registers: list[Register] = []


class Fleet(BaseModel):
    name: str
    devices: list[Device]


TABLES = '''name = "x"
[[devices]]
id = "a"

[[devices.registers]]
address = 1
[[devices.registers]]
address = 2

[[devices]]
# the second device
id = "{id}"
[[devices.registers]]
address = {address}
'''
INLINE = '''name = "x"
devices = [
  {{ id = "a", registers = [{{ address = 1 }}] }},  # id = "not this one"
  {{ registers = [{{ address = 1 }}, {{ address = {address} }}], "id" = "{id}" }},
]
'''


# (what is wrong, the TOML, the error expected): each error cites the line of the item it names.
@pytest.mark.parametrize("text, expected", [
    (TABLES.format(id="tổ,1", address=3),
     "x.toml: line 12, devices.1.id: String should match pattern '^[a-z0-9-]+$'"),
    (TABLES.format(id="b", address=-1),
     "x.toml: line 14, devices.1.registers.0.address: Input should be greater than or equal to 0"),
    (TABLES.format(id="b", address=3).replace("address = 2", "address = -2"),
     "x.toml: line 8, devices.0.registers.1.address: Input should be greater than or equal to 0"),
    (TABLES.format(id="b", address=3).replace('id = "b"\n', ""),
     "x.toml: line 10, devices.1.id: Field required"),
    (INLINE.format(id="tổ,1", address=3),
     "x.toml: line 4, devices.1.id: String should match pattern '^[a-z0-9-]+$'"),
    (INLINE.format(id="b", address=-1),
     "x.toml: line 4, devices.1.registers.1.address: Input should be greater than or equal to 0"),
], ids=["tables-id", "tables-nested", "tables-first-item", "tables-missing", "inline-id", "inline-nested"])
def test_an_error_in_an_array_item_cites_that_items_line(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, Fleet, source="x.toml")
    assert str(caught.value) == expected
