FROM --platform=$BUILDPLATFORM golang:1.22 AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
COPY . .
# Without CGO_ENABLED=1 Go turns cgo off when cross-compiling.
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app ./cmd/app
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/tool ./cmd/tool

FROM gcr.io/distroless/static
COPY --from=build /out/ /usr/local/bin/
