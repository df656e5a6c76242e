# The flag on `FROM base` is ignored: `fetch` inherits the platform of `base`, which
# follows the target, so it runs emulated for linux/arm64.
FROM debian:bookworm-slim AS base
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates wget \
 && rm -rf /var/lib/apt/lists/*

FROM --platform=$BUILDPLATFORM base AS fetch
ARG TARGETARCH
RUN wget -qO /tool "https://example.com/tool-linux-${TARGETARCH}" && chmod +x /tool

FROM debian:bookworm-slim
COPY --from=fetch /tool /usr/local/bin/tool
