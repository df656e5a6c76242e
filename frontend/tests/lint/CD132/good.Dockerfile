FROM --platform=$BUILDPLATFORM golang:1.22 AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
COPY . .
# The generator and the tests are built for and run on the build machine.
RUN go build -o /usr/local/bin/gen ./cmd/gen && /usr/local/bin/gen > internal/generated.go
RUN go test ./...
# Only the shipped binary is cross-compiled.
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app ./cmd/app

FROM gcr.io/distroless/static
COPY --from=build /out/app /app
