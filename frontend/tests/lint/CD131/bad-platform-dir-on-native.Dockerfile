FROM --platform=$BUILDPLATFORM golang:1.22 AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go install ./cmd/app

FROM gcr.io/distroless/static
ARG TARGETOS TARGETARCH
# linux/amd64 is built natively on the amd64 build machine: /go/bin/app, no linux_amd64/
COPY --from=build /go/bin/${TARGETOS}_${TARGETARCH}/app /app
