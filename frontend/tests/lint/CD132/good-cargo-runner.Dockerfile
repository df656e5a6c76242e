# platforms: linux/arm64
FROM --platform=$BUILDPLATFORM rust:1.80-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc-aarch64-linux-gnu qemu-user \
    && rustup target add aarch64-unknown-linux-gnu
ENV CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
WORKDIR /src
COPY . .
RUN cargo test --target aarch64-unknown-linux-gnu && \
    cargo build --release --target aarch64-unknown-linux-gnu && \
    cp target/aarch64-unknown-linux-gnu/release/app /app

FROM debian:bookworm-slim
COPY --from=build /app /usr/local/bin/app
