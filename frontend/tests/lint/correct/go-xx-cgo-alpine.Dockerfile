# syntax=docker/dockerfile:1
# cgo cross-compiled with the tonistiigi/xx helpers: xx-apk installs the target's
# musl and sqlite headers, xx-go sets GOOS/GOARCH/GOARM and CC, xx-verify checks the
# binary is for the target.
FROM --platform=$BUILDPLATFORM tonistiigi/xx:1.4.0 AS xx

FROM --platform=$BUILDPLATFORM golang:1.22-alpine AS build
RUN apk add --no-cache clang lld git
COPY --from=xx / /
ARG TARGETPLATFORM
RUN xx-apk add --no-cache musl-dev gcc sqlite-dev
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ENV CGO_ENABLED=1
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    xx-go build -ldflags "-linkmode external -extldflags -static" -tags "sqlite_omit_load_extension" -o /out/notes ./cmd/notes \
 && xx-verify --static /out/notes

FROM alpine:3.19
RUN apk add --no-cache ca-certificates
COPY --from=build /out/notes /usr/bin/notes
VOLUME /data
ENTRYPOINT ["notes", "--db", "/data/notes.db"]
