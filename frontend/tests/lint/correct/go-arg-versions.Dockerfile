ARG GO_VERSION=1.22
ARG ALPINE_VERSION=3.19
ARG BUILDPLATFORM

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-alpine${ALPINE_VERSION} AS build
ARG TARGETOS
ARG TARGETARCH
WORKDIR /go/src/app
COPY . .
RUN --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=cache,target=/go/pkg/mod \
    GOOS=$TARGETOS GOARCH=$TARGETARCH CGO_ENABLED=0 \
    go build -o /usr/local/bin/proxy ./cmd/proxy

FROM alpine:${ALPINE_VERSION}
COPY --from=build /usr/local/bin/proxy /usr/local/bin/proxy
ENTRYPOINT ["/usr/local/bin/proxy"]
