FROM --platform=$BUILDPLATFORM alpine:3.20 AS fetch
ARG TINI_VERSION=0.19.0
RUN wget -O /tini "https://github.com/krallin/tini/releases/download/v${TINI_VERSION}/tini-static-$(uname -m)" && \
    chmod +x /tini

FROM gcr.io/distroless/static
COPY --from=fetch /tini /tini
ENTRYPOINT ["/tini", "--"]
