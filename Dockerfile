# Container image of scwm-gateway.
#
#   docker build -t scwm-gateway .
#   docker build --build-arg VERSION=v1.2.3 -t scwm-gateway:v1.2.3 .
#
#   # embedded store, kept in the /data volume
#   docker run --rm -p 8080:8080 -v scwm-data:/data scwm-gateway
#   # MongoDB
#   docker run --rm -p 8080:8080 -e MONGODB_URI=mongodb://HOST:27017 scwm-gateway
#
# docker-compose.yml beside this file runs the gateway with MongoDB.

ARG GO_VERSION=1.26

# ---- build ------------------------------------------------------------------
FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src

# Modules first, so that a change of source alone reuses this layer.
COPY go.mod go.sum ./
RUN go mod download && go mod verify

COPY . .

# VERSION is what `scwm-gateway version` and /healthz report; empty means
# "dev". -buildvcs=false: the version comes from VERSION alone, not from
# whatever .git the build context happens to carry, and a .git that git
# refuses to read ("dubious ownership") cannot fail the build. The SQLite
# driver is pure Go, so the binary is static (CGO_ENABLED=0).
ARG VERSION=""
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
        -ldflags "-s -w -X main.buildVersion=${VERSION}" \
        -o /out/scwm-gateway ./cmd/scwm-gateway \
    && /out/scwm-gateway version

# ---- runtime ----------------------------------------------------------------
# debian-slim rather than distroless so that curl is there for the health
# check: the binary has no health subcommand of its own.
FROM debian:bookworm-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*

# A fixed, unprivileged UID/GID, so that a bind-mounted data directory can be
# chowned to it on the host (chown 10001:10001 DIR).
RUN groupadd --system --gid 10001 scwm \
    && useradd --system --uid 10001 --gid scwm --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin scwm \
    && mkdir -p /data \
    && chown scwm:scwm /data \
    && chmod 0700 /data

COPY --from=build /out/scwm-gateway /usr/local/bin/scwm-gateway

# In a container the gateway must listen on every interface, not loopback.
# With MONGODB_URI empty the embedded store keeps its files in /data.
ENV SCWM_ADDR=0.0.0.0:8080 \
    SCWM_DATA_DIR=/data

USER scwm:scwm
WORKDIR /data
# Declared after the chown: a new named volume is created owned by scwm.
VOLUME ["/data"]
EXPOSE 8080

# /readyz is 200 once the store answers a ping, 503 otherwise (its JSON body
# shows in docker inspect). The address follows SCWM_ADDR above: override the
# check if you change the port.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["curl", "-fsS", "http://127.0.0.1:8080/readyz"]

# Exec form: the binary is PID 1 and gets SIGTERM itself, so it drains
# in-flight requests (up to SCWM_SHUTDOWN_TIMEOUT, 30s by default).
ENTRYPOINT ["/usr/local/bin/scwm-gateway"]
CMD ["serve"]
