# syntax=docker/dockerfile:1.7
FROM --platform=$BUILDPLATFORM rust:1.80-bookworm AS build
ARG TARGETPLATFORM
RUN <<EOF
set -eux
case "$TARGETPLATFORM" in
  linux/amd64) echo x86_64-unknown-linux-gnu > /target ;;
  linux/arm64) echo aarch64-unknown-linux-gnu > /target ;;
  *) echo "unsupported: $TARGETPLATFORM" >&2; exit 1 ;;
esac
rustup target add "$(cat /target)"
EOF
WORKDIR /app
COPY Cargo.toml Cargo.lock ./
COPY src ./src
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/app/target,id=target-${TARGETPLATFORM} \
    cargo build --release --target "$(cat /target)" && \
    cp "target/$(cat /target)/release/app" /app/app

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build --chmod=0755 /app/app /usr/local/bin/app
HEALTHCHECK --interval=30s --timeout=5s CMD ["/usr/local/bin/app", "--health"]
CMD ["app"]
