# One cargo command per architecture, each with its literal --target triple.
FROM --platform=$BUILDPLATFORM rust:1.80-alpine AS build
RUN apk add --no-cache musl-dev \
 && rustup target add x86_64-unknown-linux-musl aarch64-unknown-linux-musl
ENV CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=rust-lld \
    CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_LINKER=rust-lld
WORKDIR /src
COPY . .
ARG TARGETARCH
RUN case "$TARGETARCH" in \
      amd64) cargo build --release --target x86_64-unknown-linux-musl \
               && cp target/x86_64-unknown-linux-musl/release/hashd /hashd ;; \
      arm64) cargo build --release --target aarch64-unknown-linux-musl \
               && cp target/aarch64-unknown-linux-musl/release/hashd /hashd ;; \
      *) echo "unsupported: $TARGETARCH" >&2; exit 1 ;; \
    esac

FROM scratch
COPY --from=build /hashd /hashd
ENTRYPOINT ["/hashd"]
