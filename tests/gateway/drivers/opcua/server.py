"""An OPC UA server for the tests: asyncua's ``Server`` on its own event loop thread, on a
loopback port, serving a production line's variables under ``ns=2;s=Line1.*``. It can be
stopped and started again on the same port (a PLC that reboots)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from asyncua import Server, ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.sync import ThreadLoop
from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier

from iotgw.processes import free_port

# The line's variables and their first values.
VARIABLES = {"Line1.Temperature": 21.5, "Line1.Humidity": 64.0, "Line1.Pressure": 10_123}


class LineServer:
    def __init__(self, port: int | None = None, *, secured_in: Path | None = None) -> None:
        """``secured_in``: a folder for the server's own key and certificate, made there;
        the server then offers Basic256Sha256 (SignAndEncrypt) only."""
        self.port = port or free_port()
        self._secured_in = secured_in
        self.endpoint = f"opc.tcp://127.0.0.1:{self.port}/iotgw/"
        self._loop = ThreadLoop(timeout=30)
        self._loop.start()
        self._server: Server | None = None
        self._nodes: dict[str, Any] = {}
        self._values = dict(VARIABLES)

    async def _start(self) -> None:
        server = Server()
        await server.init()
        server.set_endpoint(self.endpoint)
        if self._secured_in is None:
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        else:
            key, cert = await make_certificate(self._secured_in, "server", "urn:iotgw:test:plc",
                                               ExtendedKeyUsageOID.SERVER_AUTH)
            server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
            await server.load_certificate(str(cert))
            await server.load_private_key(str(key))
        ns = await server.register_namespace("urn:iotgw:test:line")
        line = await server.nodes.objects.add_object(ua.NodeId("Line1", ns), "Line1")
        for name, value in self._values.items():
            self._nodes[name] = await line.add_variable(ua.NodeId(name, ns), name.split(".")[1], value)
        await server.start()
        self._server = server

    def start(self) -> None:
        self._loop.post(self._start())

    def stop(self) -> None:
        if self._server is not None:
            self._loop.post(self._server.stop())
            self._server = None

    def set(self, name: str, value: float, status: int = ua.StatusCodes.Good) -> None:
        """Write a variable's value, with a status (uncertain, bad) if given."""
        self._values[name] = value
        kind = ua.VariantType.Double if isinstance(value, float) else ua.VariantType.Int64
        answer = ua.DataValue(ua.Variant(value, kind), StatusCode=ua.StatusCode(status))
        self._loop.post(self._nodes[name].write_value(answer))

    def close(self) -> None:
        self.stop()
        self._loop.stop()


async def make_certificate(folder: Path, name: str, uri: str, use: ObjectIdentifier) -> tuple[Path, Path]:
    """A self-signed application certificate for ``uri``: (PEM key, DER certificate)."""
    folder.mkdir(parents=True, exist_ok=True)
    key, cert = folder / f"{name}-key.pem", folder / f"{name}-cert.der"
    await setup_self_signed_certificate(key, cert, uri, "localhost", [use], {})
    return key, cert
