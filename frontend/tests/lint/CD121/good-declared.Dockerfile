# Everything declared in the stage before it is used.
FROM --platform=$BUILDPLATFORM alpine:3.20 AS fetch
ARG TARGETOS TARGETARCH TARGETVARIANT
ARG TOOL_VERSION=1.4.2
RUN --mount=type=cache,id=dl-$TARGETARCH,target=/cache \
    wget -qO /cache/tool.tgz \
      "https://example.com/tool/v${TOOL_VERSION}/tool-${TARGETOS}-${TARGETARCH/amd64/x64}${TARGETVARIANT:+-$TARGETVARIANT}.tgz" \
 && mkdir -p /out && tar -xzf /cache/tool.tgz -C /out
RUN <<EOF
set -eu
case "$TARGETARCH" in
  amd64) echo x86_64 ;;
  arm64) echo aarch64 ;;
esac > /out/arch
EOF
COPY <<EOF /out/target.conf
os=${TARGETOS}
arch=${TARGETARCH}
EOF

FROM alpine:3.20
ARG TARGETARCH
ENV APP_ARCH=$TARGETARCH
COPY --from=fetch /out /opt/tool
CMD exec /opt/tool/tool --arch "$APP_ARCH"
