# A tool for the build machine: its architecture is the right one.
FROM --platform=$BUILDPLATFORM alpine:3.20 AS protoc
ARG PROTOC_VERSION=27.1
RUN apk add --no-cache curl unzip && \
    curl -fsSLo /tmp/protoc.zip "https://github.com/protocolbuffers/protobuf/releases/download/v${PROTOC_VERSION}/protoc-${PROTOC_VERSION}-linux-$(uname -m).zip" && \
    unzip /tmp/protoc.zip -d /usr/local

FROM --platform=$BUILDPLATFORM golang:1.22 AS build
ARG TARGETOS TARGETARCH
COPY --from=protoc /usr/local/bin/protoc /usr/local/bin/protoc
WORKDIR /src
COPY . .
RUN go generate ./... && \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app ./cmd/app

FROM gcr.io/distroless/static
COPY --from=build /out/app /app
