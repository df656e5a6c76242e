FROM --platform=linux/amd64 alpine:3.20 AS tools-amd64
RUN apk add --no-cache tini

FROM --platform=linux/arm64 alpine:3.20 AS tools-arm64
RUN apk add --no-cache tini

FROM tools-${TARGETARCH} AS tools

FROM gcr.io/distroless/static
COPY --from=tools /sbin/tini /sbin/tini
