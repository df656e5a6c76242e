# GOOS/GOARCH are set once with ENV in a build-platform base stage; the stages built
# FROM it inherit both the platform and the environment.
FROM --platform=$BUILDPLATFORM golang:1.22-alpine AS base
ARG TARGETOS TARGETARCH
ENV GOOS=$TARGETOS GOARCH=$TARGETARCH CGO_ENABLED=0 GOFLAGS=-trimpath
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .

FROM base AS build-api
RUN go build -o /out/api ./cmd/api

FROM base AS build-worker
RUN go build -o /out/worker ./cmd/worker

FROM alpine:3.19 AS api
COPY --from=build-api /out/api /usr/local/bin/api
ENTRYPOINT ["api"]

FROM alpine:3.19 AS worker
COPY --from=build-worker /out/worker /usr/local/bin/worker
ENTRYPOINT ["worker"]
