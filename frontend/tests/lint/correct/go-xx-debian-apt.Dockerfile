# syntax=docker/dockerfile:1
FROM --platform=$BUILDPLATFORM golang:1.22-bookworm AS build
COPY --from=tonistiigi/xx / /
RUN apt-get update && apt-get install -y --no-install-recommends clang lld
ARG TARGETPLATFORM
RUN xx-apt-get install -y --no-install-recommends gcc libc6-dev libpcap-dev
WORKDIR /src
COPY . .
RUN CGO_ENABLED=1 xx-go build -o /out/sniff ./cmd/sniff && \
    xx-verify /out/sniff

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpcap0.8 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/sniff /usr/local/bin/sniff
ENTRYPOINT ["sniff"]
