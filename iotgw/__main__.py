"""The ``iotgw`` command. ``iotgw gateway ...`` loads only the edge agent's commands (a
field gateway has 1 GB and runs nothing else); every other command loads the full CLI."""

from __future__ import annotations

import sys


def _command(argv: list[str]) -> str | None:
    """The first word that is not a global option (``--log-level X``)."""
    args = iter(argv)
    for arg in args:
        if arg == "--log-level":
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def main() -> None:
    if _command(sys.argv[1:]) == "gateway":
        from iotgw.gateway_cli import app
    else:
        from iotgw.cli import app
    app(prog_name="iotgw")


if __name__ == "__main__":
    main()
