# No flag (the default is the target platform), the build platform, an expression
# with a fallback, and an expression of several ARGs: none is reported.
FROM --platform=${BUILDPLATFORM:-linux/amd64} alpine:3.20 AS fetch
RUN wget -qO /data.json https://example.com/data.json

FROM --platform=$TARGETOS/$TARGETARCH alpine:3.20 AS certs
RUN apk add --no-cache ca-certificates

FROM alpine:3.20
COPY --from=certs /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=fetch /data.json /data.json
