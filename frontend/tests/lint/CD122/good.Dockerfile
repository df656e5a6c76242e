# The platform is set where the chain starts from an image; stages built from it
# inherit it.
FROM --platform=$BUILDPLATFORM debian:bookworm-slim AS base
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates wget \
 && rm -rf /var/lib/apt/lists/*

FROM base AS fetch
ARG TARGETARCH
RUN wget -qO /tool "https://example.com/tool-linux-${TARGETARCH}" && chmod +x /tool

FROM --platform=$TARGETOS/$TARGETARCH debian:bookworm-slim AS runtime
COPY --from=fetch /tool /usr/local/bin/tool
