FROM --platform=$BUILDPLATFORM golang:1.22 AS build
ARG TARGETPLATFORM
WORKDIR /src
COPY . .
RUN <<EOT
set -e
case "$TARGETPLATFORM" in
  linux/amd64) export GOARCH=amd64 ;;
  linux/arm64) export GOARCH=arm64 ;;
  *) echo "unsupported $TARGETPLATFORM" >&2; exit 1 ;;
esac
go build -o /out/app .
EOT

FROM scratch
COPY --from=build /out/app /app
