# platforms: linux/amd64,linux/arm64,linux/arm/v7
# `go install` of a pinned tool. A cross `go install` writes to $GOPATH/bin/<os>_<arch>/
# (and refuses GOBIN), a native one to $GOPATH/bin/, so the binary is moved to one place.
FROM --platform=$BUILDPLATFORM golang:1.22 AS tools
ARG TARGETOS TARGETARCH TARGETVARIANT
ARG DELVE_VERSION=v1.22.1
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH GOARM=${TARGETVARIANT#v} \
    go install github.com/go-delve/delve/cmd/dlv@${DELVE_VERSION} \
 && mkdir -p /out \
 && if [ -d "/go/bin/${TARGETOS}_${TARGETARCH}" ]; then \
      mv "/go/bin/${TARGETOS}_${TARGETARCH}/dlv" /out/dlv; \
    else \
      mv /go/bin/dlv /out/dlv; \
    fi

FROM --platform=$BUILDPLATFORM golang:1.22 AS build
ARG TARGETOS TARGETARCH TARGETVARIANT
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH GOARM=${TARGETVARIANT#v} \
    go build -gcflags="all=-N -l" -o /out/api ./cmd/api

FROM debian:bookworm-slim AS debug
COPY --from=tools /out/dlv /usr/local/bin/dlv
COPY --from=build /out/api /usr/local/bin/api
EXPOSE 8080 40000
ENTRYPOINT ["dlv", "--listen=:40000", "--headless", "--accept-multiclient", "exec", "/usr/local/bin/api"]
