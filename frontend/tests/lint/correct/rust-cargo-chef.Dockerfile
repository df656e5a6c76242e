# cargo-chef caches the dependency build; both the cook and the build use --target.
FROM --platform=$BUILDPLATFORM lukemathwalker/cargo-chef:latest-rust-1.80-bookworm AS chef
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc-aarch64-linux-gnu libc6-dev-arm64-cross \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add aarch64-unknown-linux-gnu x86_64-unknown-linux-gnu
ENV CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
WORKDIR /app

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
ARG TARGETARCH
RUN case "$TARGETARCH" in \
      amd64) echo x86_64-unknown-linux-gnu > /target.txt ;; \
      arm64) echo aarch64-unknown-linux-gnu > /target.txt ;; \
      *) exit 1 ;; \
    esac
COPY --from=planner /app/recipe.json recipe.json
RUN cargo chef cook --release --target "$(cat /target.txt)" --recipe-path recipe.json
COPY . .
RUN cargo build --release --target "$(cat /target.txt)" --bin web \
 && mv "target/$(cat /target.txt)/release/web" /app/web

FROM debian:bookworm-slim AS runtime
WORKDIR /app
COPY --from=builder /app/web /usr/local/bin/web
ENTRYPOINT ["/usr/local/bin/web"]
