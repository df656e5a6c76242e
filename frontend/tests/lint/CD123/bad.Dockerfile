FROM --platform=$TARGETPLATFORM alpine:3.20 AS certs
RUN apk add --no-cache ca-certificates

FROM --platform=${TARGETPLATFORM} scratch
COPY --from=certs /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
