# platforms: linux/arm64,linux/arm/v7
FROM --platform=$BUILDPLATFORM golang:1.22 AS build
ARG TARGETOS TARGETARCH TARGETVARIANT
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH GOARM=${TARGETVARIANT#v} \
    go install ./cmd/app

FROM gcr.io/distroless/static
ARG TARGETOS TARGETARCH
COPY --from=build /go/bin/${TARGETOS}_${TARGETARCH}/app /app
