#!/usr/bin/env bash
# Installs Debian's mosquitto, influxdb and postgresql when they are missing, and with
# `--test` also chromium and chromium-driver (the dashboard's browser test), socat, mosquitto-clients,
# docker-compose and npm (with the Grafana types the dashboards are checked against);
# with `--bench`, wrk. Used by
# `make test` and `make demo`; the services themselves are started by the
# test fixtures and by `iotgw demo`, never as system services.
set -euo pipefail

missing=()
[ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null 2>&1 || missing+=(mosquitto)
command -v influxd >/dev/null 2>&1 || missing+=(influxdb)
# The registry's tests run against PostgreSQL too (Debian's server binaries).
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
if [ "${1:-}" = "--test" ]; then
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
  command -v socat >/dev/null 2>&1 || missing+=(socat)  # Modbus RTU over a pseudo-terminal pair
  # The compose broker's health check (mosquitto_sub) is run against the real broker.
  command -v mosquitto_sub >/dev/null 2>&1 || missing+=(mosquitto-clients)
  # docker-compose.yml is validated by a real Compose implementation (no engine needed).
  command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
  # The Grafana dashboards are type-checked against Grafana's own types (@grafana/schema).
  command -v npm >/dev/null 2>&1 || missing+=(npm)
fi
if [ "${1:-}" = "--bench" ]; then
  command -v wrk >/dev/null 2>&1 || missing+=(wrk)  # bench/api_latency.py's clients
fi

grafana_types() {
  local dir
  dir="$(dirname "$0")/../tests/deploy/grafana_schema"
  [ -d "$dir/node_modules" ] || (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
}

if [ ${#missing[@]} -eq 0 ]; then
  [ "${1:-}" = "--test" ] && grafana_types
  exit 0
fi

echo "iotgw: installing ${missing[*]} with apt-get"
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  cat >&2 <<MSG
iotgw: ${missing[*]} missing and this user cannot install packages.
Run once as root:   apt-get install -y ${missing[*]}
then run make again. (Nothing of iotgw needs root after that.)
MSG
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d keeps apt from starting the packages' own system services:
# iotgw starts its brokers and databases itself, on its own ports.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
  "${SUDO[@]}" chmod +x "$policy"
  created_policy=1
fi
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
[ "$created_policy" -eq 1 ] && "${SUDO[@]}" rm -f "$policy"
[ "${1:-}" = "--test" ] && grafana_types
exit 0
