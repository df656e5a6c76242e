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
RUN cargo install cargo-auditable --locked
WORKDIR /app
COPY . .
RUN cargo auditable build --release --target "$(cat /target)" && \
    cp "target/$(cat /target)/release/app" /app/app

FROM debian:bookworm-slim
COPY --from=build /app/app /usr/local/bin/app
