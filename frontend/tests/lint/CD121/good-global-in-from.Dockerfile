# FROM lines see the global scope: automatic ARGs and ARGs declared before the first
# FROM need no declaration there.
ARG ALPINE_VERSION=3.20
ARG BUILDER_PLATFORM=linux/amd64
FROM --platform=${BUILDPLATFORM:-linux/amd64} alpine:${ALPINE_VERSION} AS base-amd64
RUN echo amd64 > /arch
FROM --platform=${BUILDPLATFORM:-linux/amd64} alpine:${ALPINE_VERSION} AS base-arm64
RUN echo arm64 > /arch
FROM base-${TARGETARCH} AS picked

FROM alpine:${ALPINE_VERSION}
COPY --from=picked /arch /arch
