# platforms: linux/amd64
# An amd64-only product built on any machine (also arm64 CI runners): the build stage
# runs on the build platform and targets linux/amd64 explicitly.
FROM --platform=$BUILDPLATFORM golang:1.22 AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 GOOS=linux GOARCH=amd64 GOAMD64=v3 go build -o /out/encoder ./cmd/encoder

FROM debian:bookworm-slim
COPY --from=build /out/encoder /usr/local/bin/encoder
ENTRYPOINT ["encoder"]
