# syntax=docker/dockerfile:1
#
# billingd image.  Build:  docker build -t billingd .
# Run:  docker run -e BILLINGD_DATABASE__URL=postgres://... -e BILLINGD_PAYROC__API_KEY=... billingd
# The daemon reads config/default.toml relative to its working directory
# (/etc/billingd here), plus a file named by --config or BILLINGD_CONFIG.

# ---- build -----------------------------------------------------------------
# rust:*-slim already ships gcc and libc6-dev, which is all ring (rustls) needs.
FROM rust:1.95-slim-bookworm AS builder
WORKDIR /src
# All SQL is checked at run time against the embedded migrations, so the build
# needs no database (no sqlx offline data to keep in step).
COPY . .
# Cache mounts keep the crates.io download and the target dir between builds
# (BuildKit); the binary is copied out of the cached target dir.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin billingd \
    && install -D -m 0755 target/release/billingd /out/billingd

# ---- runtime ---------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 billingd \
    && useradd --system --uid 10001 --gid billingd --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin billingd
COPY --from=builder /out/billingd /usr/local/bin/billingd
COPY config/ /etc/billingd/config/
WORKDIR /etc/billingd
# The binary's default stays loopback (safe on a laptop); in a container the API must be
# reachable from outside it, so the image listens on every interface.
ENV BILLINGD_API__LISTEN=0.0.0.0:8080
EXPOSE 8080
# The slim image has no curl: the binary probes itself (GET /healthz on api.listen).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["billingd", "healthcheck"]
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
ENTRYPOINT ["billingd"]
CMD ["serve"]
