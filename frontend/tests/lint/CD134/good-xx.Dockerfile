FROM --platform=$BUILDPLATFORM tonistiigi/xx:1.5.0 AS xx

FROM --platform=$BUILDPLATFORM golang:1.22-bookworm AS build
COPY --from=xx / /
RUN apt-get update && apt-get install -y --no-install-recommends clang lld
ARG TARGETPLATFORM
RUN xx-apt-get install -y --no-install-recommends gcc libc6-dev libssl-dev
WORKDIR /src
COPY . .
RUN CGO_ENABLED=1 xx-go build -o /out/app ./cmd/app && xx-verify /out/app

FROM debian:bookworm-slim
COPY --from=build /out/app /usr/local/bin/app
