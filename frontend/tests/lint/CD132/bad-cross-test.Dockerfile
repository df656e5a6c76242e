FROM --platform=$BUILDPLATFORM golang:1.22 AS build
ARG TARGETOS TARGETARCH
ENV CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH
WORKDIR /src
COPY . .
RUN go test ./...
RUN go build -o /out/app ./cmd/app && /out/app --version

FROM gcr.io/distroless/static
COPY --from=build /out/app /app
