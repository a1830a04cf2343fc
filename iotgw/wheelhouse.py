"""A gateway's offline install: the wheelhouse (``make wheelhouse``, ``scripts/wheelhouse.sh``)
copied into its provisioning bundle, with the one line that installs from it alone.

Field gateways often have no internet, or a metered 4G link: nothing is downloaded on the
gateway. The wheelhouse is built where the package registry is reachable, for the
gateways' platforms (Raspberry Pi OS aarch64 and armv7l, x86_64; Python 3.11), and holds
iotgw's own wheel and every wheel ``iotgw[gateway]`` needs, pinned by constraints/gateway.txt.
"""

from __future__ import annotations

import shutil
from pathlib import Path

# The one binary wheel the gateway needs; the others are pure Python (py3-none-any).
BINARY = "pydantic_core"
PLATFORMS = ("aarch64", "armv7l", "x86_64")
INSTALL = "pip install --no-index --find-links wheelhouse 'iotgw[gateway]'"
SCRIPT = f"""#!/bin/sh
# Installs the iotgw gateway agent from this bundle's wheelhouse alone: nothing is downloaded.
# As root, from the bundle's directory: sh install.sh [VENV] (default /opt/iotgw); then
# VENV/bin/iotgw gateway install --config gateway.toml
set -eu
cd "$(dirname "$0")"
venv="${{1:-/opt/iotgw}}"
python3 -m venv "$venv"
"$venv/bin/python" -m {INSTALL}
"$venv/bin/iotgw" --version
"""


class WheelhouseError(ValueError):
    """A wheelhouse that cannot install a gateway: missing, or without a platform's wheels."""


def check(wheelhouse: Path) -> list[str]:
    """The gateway platforms ``wheelhouse`` can install on (at least one).

    Raises: WheelhouseError naming the folder and how to build it.
    """
    build = "build it with `make wheelhouse` on a machine that reaches the package registry"
    if not wheelhouse.is_dir() or not any(wheelhouse.glob("iotgw-*.whl")):
        raise WheelhouseError(f"{wheelhouse}: no iotgw wheel there; {build}")
    platforms = [p for p in PLATFORMS if any(wheelhouse.glob(f"{BINARY}-*_{p}.whl"))]
    if not platforms:
        raise WheelhouseError(f"{wheelhouse}: no {BINARY} wheel for any gateway platform"
                              f" ({', '.join(PLATFORMS)}); {build}")
    return platforms


def add_to_bundle(wheelhouse: Path, bundle_dir: Path) -> Path:
    """``wheelhouse`` copied to ``bundle_dir/wheelhouse`` (replacing an older one) and
    ``install.sh`` beside it; returns the script."""
    target = bundle_dir / "wheelhouse"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(wheelhouse, target)
    script = bundle_dir / "install.sh"
    script.write_text(SCRIPT)
    script.chmod(0o755)
    return script
