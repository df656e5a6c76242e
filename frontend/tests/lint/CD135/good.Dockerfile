FROM --platform=$BUILDPLATFORM alpine:3.20 AS fetch
ARG TARGETARCH
ARG TINI_VERSION=0.19.0
RUN case "$TARGETARCH" in \
      amd64) arch=amd64 ;; \
      arm64) arch=arm64 ;; \
      *) echo "unsupported: $TARGETARCH" >&2; exit 1 ;; \
    esac && \
    wget -O /tini "https://github.com/krallin/tini/releases/download/v${TINI_VERSION}/tini-static-${arch}" && \
    chmod +x /tini

FROM debian:bookworm-slim AS download
ARG TARGETARCH
RUN apt-get update && apt-get install -y --no-install-recommends curl ca-certificates && \
    curl -fsSLo /tmp/app.deb "https://example.com/releases/app_1.2.3_$(dpkg --print-architecture).deb"

FROM gcr.io/distroless/static
COPY --from=fetch /tini /tini
COPY --from=download /tmp/app.deb /app.deb
ENTRYPOINT ["/tini", "--"]
