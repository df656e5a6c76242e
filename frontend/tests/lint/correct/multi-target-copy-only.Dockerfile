# syntax=docker/dockerfile:1
# Several targets (binaries, release archive, image); every compile happens in the
# cross-compiling build stage and the others only copy.
ARG GO_VERSION=1.22

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-alpine AS base
RUN apk add --no-cache git
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download

FROM base AS build
ARG TARGETOS TARGETARCH TARGETVARIANT
RUN --mount=type=bind,target=. \
    --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH GOARM=${TARGETVARIANT#v} CGO_ENABLED=0 \
    go build -o /out/tool ./cmd/tool

FROM scratch AS binaries
COPY --from=build /out/tool /

FROM --platform=$BUILDPLATFORM alpine:3.19 AS archive
ARG TARGETOS TARGETARCH
COPY --from=build /out/tool /dist/tool
RUN tar -C /dist -czf /tool_${TARGETOS}_${TARGETARCH}.tar.gz tool

FROM scratch AS release
ARG TARGETOS TARGETARCH
COPY --from=archive /tool_${TARGETOS}_${TARGETARCH}.tar.gz /

FROM alpine:3.19 AS image
RUN apk add --no-cache ca-certificates
COPY --from=binaries /tool /usr/local/bin/tool
ENTRYPOINT ["tool"]
