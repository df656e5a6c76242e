# The Makefile runs `go build`; GOOS/GOARCH are passed to make, which exports them.
FROM --platform=$BUILDPLATFORM golang:1.22 AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
COPY . .
RUN make build GOOS=$TARGETOS GOARCH=$TARGETARCH CGO_ENABLED=0 BINDIR=/out

FROM gcr.io/distroless/static-debian12
COPY --from=build /out/operator /operator
ENTRYPOINT ["/operator"]
