# cgo with Debian's cross gcc, chosen in a case block.
FROM --platform=$BUILDPLATFORM golang:1.22-bookworm AS build
RUN dpkg --add-architecture arm64 \
 && apt-get update \
 && apt-get install -y --no-install-recommends \
      gcc-aarch64-linux-gnu libc6-dev-arm64-cross libsqlite3-dev:arm64 \
      gcc-x86-64-linux-gnu libc6-dev-amd64-cross libsqlite3-dev:amd64 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
ARG TARGETOS TARGETARCH
RUN case "$TARGETARCH" in \
      amd64) export CC=x86_64-linux-gnu-gcc PKG_CONFIG_PATH=/usr/lib/x86_64-linux-gnu/pkgconfig ;; \
      arm64) export CC=aarch64-linux-gnu-gcc PKG_CONFIG_PATH=/usr/lib/aarch64-linux-gnu/pkgconfig ;; \
      *) echo "unsupported: $TARGETARCH" >&2; exit 1 ;; \
    esac \
 && CGO_ENABLED=1 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/ledger ./cmd/ledger

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libsqlite3-0 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ledger /usr/local/bin/ledger
ENTRYPOINT ["ledger"]
