FROM --platform=$BUILDPLATFORM golang:1.22 AS build
ARG TARGETOS TARGETARCH
ENV GOBIN=/usr/local/bin
WORKDIR /src
# A tool for the build machine: a native install, GOBIN is fine.
RUN go install golang.org/x/tools/cmd/stringer@v0.20.0
COPY . .
RUN go generate ./... && \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app ./cmd/app

FROM gcr.io/distroless/static
COPY --from=build /out/app /app
