# syntax=docker/dockerfile:1
FROM --platform=$BUILDPLATFORM golang:1.22-bookworm AS build
WORKDIR /src
COPY . .
ARG TARGETPLATFORM TARGETOS TARGETARCH TARGETVARIANT
RUN --mount=type=cache,target=/root/.cache/go-build <<EOF
set -eux
export CGO_ENABLED=0 GOOS="$TARGETOS" GOARCH="$TARGETARCH"
case "$TARGETARCH" in
  arm) export GOARM="${TARGETVARIANT#v}" ;;
  amd64) export GOAMD64=v1 ;;
esac
mkdir -p /out
for cmd in ./cmd/*; do
  go build -trimpath -o "/out/$(basename "$cmd")" "$cmd"
done
EOF

FROM gcr.io/distroless/static-debian12
COPY --from=build /out/ /usr/local/bin/
ENTRYPOINT ["/usr/local/bin/gateway"]
