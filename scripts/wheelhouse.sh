#!/usr/bin/env bash
# The gateway's wheelhouse: iotgw's own wheel and every wheel `iotgw[gateway]` needs, at the
# versions constraints/gateway.txt pins, for Python 3.11 on Raspberry Pi OS (64-bit aarch64,
# 32-bit armv7l) and on x86_64 gateways. Built here, from the package registry; a gateway
# then installs from it alone (`iotgw provision gateway ... --wheelhouse DIR` puts it in the
# bundle):  pip install --no-index --find-links wheelhouse 'iotgw[gateway]'
#
# Usage: scripts/wheelhouse.sh [DIR]   (default wheelhouse/; PLATFORMS overrides the list,
# e.g. PLATFORMS=manylinux_2_17_x86_64; PY the Python whose pip runs; EXTRAS=gateway,opcua
# for an OPC UA gateway: aarch64 and x86_64 only, cryptography has no armv7l wheel)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-wheelhouse}
py=${PY:-.venv/bin/python}
platforms=${PLATFORMS:-manylinux_2_17_aarch64 manylinux_2_17_armv7l manylinux_2_17_x86_64}
extras=${EXTRAS:-gateway}

# build/ is setuptools' in-tree staging folder: files left there by an earlier build (a module
# since removed) would go into the wheel.
rm -rf "$out" build
mkdir -p "$out"
"$py" -m pip wheel -q --no-deps --wheel-dir "$out" .
wheel=$(ls "$out"/iotgw-*.whl)
for platform in $platforms; do
  # Binary wheels only: a gateway has no compiler, and nothing may build on it.
  "$py" -m pip download -q --only-binary=:all: --platform "$platform" --python-version 3.11 \
    --implementation cp --abi cp311 --constraint constraints/gateway.txt --dest "$out" \
    "iotgw[$extras] @ file://$(realpath "$wheel")"
done
echo "wheelhouse $out: $(ls "$out" | wc -l) wheels for $platforms"
