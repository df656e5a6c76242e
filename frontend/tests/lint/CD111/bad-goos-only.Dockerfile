# platforms: linux/amd64,linux/arm64,linux/arm/v7
FROM --platform=$BUILDPLATFORM golang:1.22-alpine AS build
ARG TARGETOS
WORKDIR /src
COPY . .
RUN GOOS=$TARGETOS go install ./cmd/app

FROM alpine:3.20
COPY --from=build /go/bin/app /usr/local/bin/app
