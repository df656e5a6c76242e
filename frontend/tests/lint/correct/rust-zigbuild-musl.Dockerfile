# cargo-zigbuild links with zig for any target; the target triple comes from TARGETARCH.
FROM --platform=$BUILDPLATFORM rust:1.80-slim-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends curl xz-utils ca-certificates \
 && curl -fsSL https://ziglang.org/download/0.11.0/zig-linux-x86_64-0.11.0.tar.xz | tar -xJ -C /opt \
 && ln -s /opt/zig-linux-x86_64-0.11.0/zig /usr/local/bin/zig \
 && rm -rf /var/lib/apt/lists/*
RUN cargo install --locked cargo-zigbuild@0.18.4 \
 && rustup target add x86_64-unknown-linux-musl aarch64-unknown-linux-musl
WORKDIR /src
COPY . .
ARG TARGETARCH
RUN case "$TARGETARCH" in \
      amd64) target=x86_64-unknown-linux-musl ;; \
      arm64) target=aarch64-unknown-linux-musl ;; \
      *) exit 1 ;; \
    esac \
 && cargo zigbuild --release --target "$target" \
 && cp "target/$target/release/probe" /probe

FROM scratch
COPY --from=build /probe /probe
ENTRYPOINT ["/probe"]
