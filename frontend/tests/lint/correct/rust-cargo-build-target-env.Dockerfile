# The target is given to cargo as CARGO_BUILD_TARGET (exported in the case block)
# instead of --target.
FROM --platform=$BUILDPLATFORM rust:1.80-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc-aarch64-linux-gnu libc6-dev-arm64-cross \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add aarch64-unknown-linux-gnu x86_64-unknown-linux-gnu
WORKDIR /src
COPY . .
ARG TARGETARCH
RUN case "$TARGETARCH" in \
      amd64) export CARGO_BUILD_TARGET=x86_64-unknown-linux-gnu ;; \
      arm64) export CARGO_BUILD_TARGET=aarch64-unknown-linux-gnu \
                    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc ;; \
      *) exit 1 ;; \
    esac \
 && cargo build --release \
 && cp "target/$CARGO_BUILD_TARGET/release/tracer" /tracer

FROM debian:bookworm-slim
COPY --from=build /tracer /usr/local/bin/tracer
ENTRYPOINT ["tracer"]
