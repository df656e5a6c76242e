FROM --platform=$BUILDPLATFORM tonistiigi/xx AS xx

FROM --platform=$BUILDPLATFORM rust:1.80-alpine AS build
COPY --from=xx / /
RUN apk add clang lld
ARG TARGETPLATFORM
RUN xx-apk add --no-cache musl-dev gcc
WORKDIR /app
COPY . .
RUN xx-cargo build --release --target-dir ./build && \
    xx-verify ./build/$(xx-cargo --print-target-triple)/release/app && \
    cp ./build/$(xx-cargo --print-target-triple)/release/app /app/app

FROM alpine:3.20
COPY --from=build /app/app /usr/local/bin/app
