# platforms: linux/amd64,linux/arm64,linux/arm/v7
FROM --platform=$BUILDPLATFORM golang:1.22-alpine AS build
RUN apk add --no-cache git
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS
ARG TARGETARCH
ARG TARGETVARIANT
ARG VERSION=dev
RUN export CGO_ENABLED=0 GOOS="$TARGETOS" GOARCH="$TARGETARCH" \
 && if [ "$TARGETARCH" = "arm" ]; then export GOARM="${TARGETVARIANT#v}"; fi \
 && go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/ctl ./cmd/ctl

FROM alpine:3.19
RUN apk add --no-cache ca-certificates tzdata
COPY --from=build /out/ctl /usr/local/bin/ctl
ENTRYPOINT ["ctl"]
