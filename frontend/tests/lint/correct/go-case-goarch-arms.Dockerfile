# platforms: linux/amd64,linux/arm64,linux/arm/v7,linux/386
# GOARCH spelled out per architecture in a case block on TARGETPLATFORM.
FROM --platform=$BUILDPLATFORM golang:1.22-bookworm AS build
ARG TARGETPLATFORM
WORKDIR /src
COPY . .
RUN case "$TARGETPLATFORM" in \
      linux/amd64)  export GOARCH=amd64 ;; \
      linux/arm64)  export GOARCH=arm64 ;; \
      linux/arm/v7) export GOARCH=arm GOARM=7 ;; \
      linux/386)    export GOARCH=386 ;; \
      *) echo "unsupported platform $TARGETPLATFORM" >&2; exit 1 ;; \
    esac \
 && CGO_ENABLED=0 GOOS=linux go build -o /out/dnsd ./cmd/dnsd

FROM scratch
COPY --from=build /out/dnsd /dnsd
ENTRYPOINT ["/dnsd"]
