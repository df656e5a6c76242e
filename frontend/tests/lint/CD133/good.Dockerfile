FROM --platform=$BUILDPLATFORM golang:1.22-bookworm AS build
ARG TARGETOS TARGETARCH
RUN apt-get update && apt-get install -y --no-install-recommends \
        gcc-aarch64-linux-gnu libc6-dev-arm64-cross \
        gcc-x86-64-linux-gnu libc6-dev-amd64-cross
WORKDIR /src
COPY . .
RUN case "$TARGETARCH" in \
      amd64) export CC=x86_64-linux-gnu-gcc ;; \
      arm64) export CC=aarch64-linux-gnu-gcc ;; \
      *) echo "unsupported: $TARGETARCH" >&2; exit 1 ;; \
    esac && \
    CGO_ENABLED=1 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app ./cmd/app

FROM debian:bookworm-slim
COPY --from=build /out/app /usr/local/bin/app
