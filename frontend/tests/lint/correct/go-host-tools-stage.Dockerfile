# syntax=docker/dockerfile:1
# protoc plugins are built natively in a build-platform stage and only run during the
# build (they are never shipped); the service itself is cross-compiled.
ARG GO_VERSION=1.22
ARG TARGETOS TARGETARCH

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS tools
RUN go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.33.0 \
 && go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.3.0

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS gen
RUN apt-get update && apt-get install -y --no-install-recommends protobuf-compiler \
 && rm -rf /var/lib/apt/lists/*
COPY --from=tools /go/bin/protoc-gen-go /go/bin/protoc-gen-go-grpc /usr/local/bin/
WORKDIR /src
COPY proto/ proto/
RUN mkdir -p gen && protoc -I proto --go_out=gen --go-grpc_out=gen proto/*.proto

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=gen /src/gen ./gen
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/grpc-server ./cmd/server

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/grpc-server /grpc-server
ENTRYPOINT ["/grpc-server"]
