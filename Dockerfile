# syntax=docker/dockerfile:1
# One image for every service of ours (ingest, rollup, api; `iotgw` is the entry point).
# Pure Python: `docker buildx build --platform linux/amd64,linux/arm64 .` builds both
# from the same wheels, no compiler in the final image.

# -- build: a virtual environment with iotgw and its dependencies --------------------------
FROM python:3.11.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/iotgw
WORKDIR /src
COPY pyproject.toml README.md ./
COPY constraints constraints
COPY devices devices
COPY tsdb tsdb
COPY gateway gateway
COPY ingest ingest
COPY registry registry
COPY rollup rollup
COPY api api
COPY simulators simulators
COPY iotgw iotgw
COPY deploy deploy
# The versions every install of the server uses (constraints/server.txt): rebuilt, the
# image gets the same libraries.
RUN /opt/iotgw/bin/pip install -c constraints/server.txt '.[server]' \
 && /opt/iotgw/bin/iotgw --version && /opt/iotgw/bin/iotgw sim list --json >/dev/null

# -- run: the environment alone, as an unprivileged user -------------------------------------
FROM python:3.11.11-slim-bookworm
ENV PATH=/opt/iotgw/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN groupadd --system --gid 10001 iotgw \
 && useradd --system --uid 10001 --gid iotgw --home-dir /var/lib/iotgw --shell /usr/sbin/nologin iotgw \
 && install -d -o iotgw -g iotgw /var/lib/iotgw /var/lib/iotgw/ingest /var/lib/iotgw/registry
COPY --from=build /opt/iotgw /opt/iotgw
USER 10001:10001
WORKDIR /var/lib/iotgw
ENTRYPOINT ["iotgw"]
CMD ["--help"]
