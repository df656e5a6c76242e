# A helper stage pinned to arm64 (built with `--target docs`) runs under emulation on
# an amd64 build machine; its name does not say it is meant to be arm64.
FROM --platform=linux/arm64/v8 python:3.12-slim AS docs
RUN pip install --no-cache-dir mkdocs
COPY docs/ /docs/
RUN mkdocs build -f /docs/mkdocs.yml -d /site

FROM alpine:3.20
RUN apk add --no-cache ca-certificates
