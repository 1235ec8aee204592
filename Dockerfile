# syntax=docker/dockerfile:1
# healthai-server: the gRPC clinical-note service.
#
#   docker build -t healthai-server:0.1.0 .
#   docker run --rm -p 50051:50051 -p 9464:9464 healthai-server:0.1.0
#
# The base image is pinned by exact tag. Pin it by digest in the registry mirror as well
# (python:3.11.14-slim-bookworm@sha256:...); the digest could not be resolved from the
# machine this file was written on, so it is not guessed here.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# --- build: install the package and its pinned dependencies into a virtualenv ----------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/healthai
# Only what the wheel needs (see .dockerignore): the server, the generated stubs and SDK.
COPY pyproject.toml ./
COPY server/ server/
COPY clients/python/ clients/python/
# pip byte-compiles on install: the runtime root filesystem is read-only.
RUN /opt/healthai/bin/pip install ./clients/python . \
 && /opt/healthai/bin/healthai-server --help >/dev/null

# --- runtime: no compiler, no pip cache, no sources; a non-root user -------------------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="healthai-server" \
      org.opencontainers.image.description="Clinical-note AI service behind strict gRPC contracts"
RUN groupadd --system --gid 10001 healthai \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin healthai \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/healthai
COPY --from=build /opt/healthai /opt/healthai
ENV PATH="/opt/healthai/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HEALTHAI_LISTEN_ADDR=0.0.0.0:50051 \
    HEALTHAI_PROBE_PORT=8081 \
    HEALTHAI_METRICS_PORT=9464 \
    HEALTHAI_METRICS_HOST=0.0.0.0 \
    HEALTHAI_STATE_DIR=/var/lib/healthai
WORKDIR /var/lib/healthai
USER 10001:10001
# 50051 gRPC (health, reflection, the services), TLS: mount a certificate and set HEALTHAI_TLS_CERT_FILE
# and HEALTHAI_TLS_KEY_FILE, or the server refuses to start (HEALTHAI_PLAINTEXT=true allows plaintext).
# 9464 Prometheus /metrics and 8081 health-only probe port: plaintext (kubelet's probe cannot do TLS).
EXPOSE 50051 9464 8081
# The server drains on SIGTERM (HEALTHAI_SHUTDOWN_GRACE_S) and reaps its pool's children.
STOPSIGNAL SIGTERM
ENTRYPOINT ["healthai-server"]
CMD ["serve"]
