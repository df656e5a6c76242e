# A constant platform is accepted when the stage name says it (BuildKit's exception);
# a variable, even with a constant default, is not a constant.
ARG TOOLS_PLATFORM=linux/amd64
FROM --platform=linux/amd64 debian:bookworm-slim AS tools-amd64
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*

FROM --platform=$TOOLS_PLATFORM alpine:3.20 AS fetch
RUN wget -qO /data.json https://example.com/data.json

FROM --platform=${BUILDPLATFORM:-linux/amd64} alpine:3.20 AS linux_helpers
RUN echo ok > /ok

FROM alpine:3.20
COPY --from=fetch /data.json /data.json
COPY --from=linux_helpers /ok /ok
