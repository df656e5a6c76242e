# syntax=docker/dockerfile:1.7
# Nothing is compiled: release binaries for the target are fetched on the build
# platform, the architecture names mapped with ${TARGETARCH/amd64/x64} and a case block.
FROM --platform=$BUILDPLATFORM alpine:3.19 AS fetch
ARG TARGETOS TARGETARCH
ARG NODE_VERSION=20.11.1
ARG KUBECTL_VERSION=v1.29.2
ARG HELM_VERSION=v3.14.2
ADD https://nodejs.org/dist/v${NODE_VERSION}/node-v${NODE_VERSION}-${TARGETOS}-${TARGETARCH/amd64/x64}.tar.xz /tmp/node.tar.xz
ADD https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/${TARGETOS}/${TARGETARCH}/kubectl /out/bin/kubectl
RUN apk add --no-cache curl xz \
 && mkdir -p /out/node \
 && tar -xJf /tmp/node.tar.xz -C /out/node --strip-components=1 \
 && curl -fsSL "https://get.helm.sh/helm-${HELM_VERSION}-${TARGETOS}-${TARGETARCH}.tar.gz" \
      | tar -xz -C /out/bin --strip-components=1 "${TARGETOS}-${TARGETARCH}/helm" \
 && case "$TARGETARCH" in \
      amd64) yq_arch=amd64 ;; \
      arm64) yq_arch=arm64 ;; \
      *) echo "unsupported: $TARGETARCH" >&2; exit 1 ;; \
    esac \
 && curl -fsSLo /out/bin/yq "https://github.com/mikefarah/yq/releases/download/v4.42.1/yq_${TARGETOS}_${yq_arch}" \
 && chmod +x /out/bin/*

FROM debian:bookworm-slim
COPY --from=fetch /out/node /usr/local
COPY --from=fetch /out/bin/ /usr/local/bin/
ENTRYPOINT ["kubectl"]
