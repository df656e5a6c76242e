FROM --platform=$BUILDPLATFORM golang:1.22-bookworm AS build
ARG TARGETOS TARGETARCH
RUN apt-get update && apt-get install -y --no-install-recommends \
        crossbuild-essential-arm64 crossbuild-essential-amd64 \
        pkg-config libsqlite3-dev libssl-dev
WORKDIR /src
COPY . .
RUN case "$TARGETARCH" in \
      amd64) export CC=x86_64-linux-gnu-gcc ;; \
      arm64) export CC=aarch64-linux-gnu-gcc ;; \
    esac && \
    CGO_ENABLED=1 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app ./cmd/app

FROM debian:bookworm-slim
COPY --from=build /out/app /usr/local/bin/app
