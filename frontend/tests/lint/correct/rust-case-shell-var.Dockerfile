FROM --platform=$BUILDPLATFORM rust:1.80-slim-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-x86-64-linux-gnu libc6-dev-amd64-cross \
 && rm -rf /var/lib/apt/lists/*
RUN rustup target add x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu
WORKDIR /app
COPY . .
ARG TARGETARCH
RUN set -eu; \
    case "$TARGETARCH" in \
      amd64) target=x86_64-unknown-linux-gnu; export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER=x86_64-linux-gnu-gcc ;; \
      arm64) target=aarch64-unknown-linux-gnu; export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc ;; \
      *) echo "unsupported: $TARGETARCH" >&2; exit 1 ;; \
    esac; \
    cargo build --release --target "$target" --bin relay; \
    install -D "target/$target/release/relay" /out/relay

FROM gcr.io/distroless/cc-debian12
COPY --from=build /out/relay /relay
ENTRYPOINT ["/relay"]
