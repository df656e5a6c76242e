FROM --platform=$BUILDPLATFORM golang:1.22-bookworm AS build
ARG TARGETOS TARGETARCH
# Only for the build machine's tools: nothing in C is compiled for the target.
RUN apt-get update && apt-get install -y --no-install-recommends libprotobuf-dev protobuf-compiler
WORKDIR /src
COPY . .
RUN go generate ./... && \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app ./cmd/app

FROM gcr.io/distroless/static
COPY --from=build /out/app /app
