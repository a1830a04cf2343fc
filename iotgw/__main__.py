"""The ``iotgw`` command (``python -m iotgw``); ``iotgw.cli`` imports each command only
when it runs."""

from __future__ import annotations

from iotgw.cli import app


def main() -> None:
    app(prog_name="iotgw")


if __name__ == "__main__":
    main()
