# platforms: linux/amd64,linux/arm64,linux/arm/v7
# Rust cross-compiled with rustup targets and Debian's cross gcc as the linker; the
# target triple is chosen from TARGETPLATFORM in a case block.
FROM --platform=$BUILDPLATFORM rust:1.80-bookworm AS build
ARG TARGETPLATFORM
RUN case "$TARGETPLATFORM" in \
      "linux/amd64")  rust=x86_64-unknown-linux-gnu      deb=amd64 gnu=x86-64-linux-gnu ;; \
      "linux/arm64")  rust=aarch64-unknown-linux-gnu     deb=arm64 gnu=aarch64-linux-gnu ;; \
      "linux/arm/v7") rust=armv7-unknown-linux-gnueabihf deb=armhf gnu=arm-linux-gnueabihf ;; \
      *) echo "unsupported platform: $TARGETPLATFORM" >&2; exit 1 ;; \
    esac \
 && echo "$rust" > /rust_target \
 && rustup target add "$rust" \
 && apt-get update \
 && apt-get install -y --no-install-recommends "gcc-$gnu" "libc6-dev-$deb-cross" \
 && rm -rf /var/lib/apt/lists/*
ENV CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER=x86_64-linux-gnu-gcc \
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
    CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_LINKER=arm-linux-gnueabihf-gcc
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target,id=target-$TARGETPLATFORM \
    cargo build --release --locked --target "$(cat /rust_target)" \
 && cp "target/$(cat /rust_target)/release/indexer" /indexer

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /indexer /usr/local/bin/indexer
ENTRYPOINT ["indexer"]
