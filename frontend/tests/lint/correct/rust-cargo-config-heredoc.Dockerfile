# syntax=docker/dockerfile:1
# The linkers are configured in .cargo/config.toml (written with a heredoc); the
# target triple comes from TARGETARCH.
FROM --platform=$BUILDPLATFORM rust:1.80-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc-aarch64-linux-gnu libc6-dev-arm64-cross \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add aarch64-unknown-linux-gnu x86_64-unknown-linux-gnu
COPY <<'EOF' /usr/local/cargo/config.toml
[target.aarch64-unknown-linux-gnu]
linker = "aarch64-linux-gnu-gcc"

[target.x86_64-unknown-linux-gnu]
linker = "x86_64-linux-gnu-gcc"
EOF
WORKDIR /src
COPY . .
ARG TARGETARCH
RUN --mount=type=cache,target=/usr/local/cargo/registry <<'EOF'
set -eu
case "$TARGETARCH" in
  amd64) triple=x86_64-unknown-linux-gnu ;;
  arm64) triple=aarch64-unknown-linux-gnu ;;
  *) echo "unsupported: $TARGETARCH" >&2; exit 1 ;;
esac
cargo build --release --locked --target "$triple"
install -D "target/$triple/release/mailer" /out/mailer
EOF

FROM debian:bookworm-slim
COPY --from=build /out/mailer /usr/local/bin/mailer
USER 1000
ENTRYPOINT ["mailer"]
