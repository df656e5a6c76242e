FROM --platform=linux/amd64 alpine:3.20 AS tools
RUN apk add --no-cache tini curl

FROM gcr.io/distroless/static
COPY --from=tools /sbin/tini /sbin/tini
COPY --from=tools /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
ENTRYPOINT ["/sbin/tini", "--"]
