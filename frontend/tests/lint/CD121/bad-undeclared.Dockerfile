# A release binary downloaded for the target architecture, but the stage never
# declares TARGETARCH: every platform downloads `tool-linux-.tar.gz`.
FROM alpine:3.20 AS tools
ARG TOOL_VERSION=1.4.2
RUN wget -qO- "https://example.com/tool/v${TOOL_VERSION}/tool-linux-${TARGETARCH}.tar.gz" \
    | tar -xz -C /usr/local/bin

FROM alpine:3.20
COPY --from=tools /usr/local/bin/tool /usr/local/bin/tool
ENTRYPOINT ["tool"]
