# syntax=docker/dockerfile:1
FROM --platform=$BUILDPLATFORM tonistiigi/xx:1.4.0 AS xx

FROM --platform=$BUILDPLATFORM rust:1.80-alpine AS build
RUN apk add --no-cache clang lld musl-dev git file
COPY --from=xx / /
ARG TARGETPLATFORM
RUN xx-apk add --no-cache musl-dev gcc openssl-dev openssl-libs-static
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/git/db \
    --mount=type=cache,target=/usr/local/cargo/registry \
    xx-cargo build --release --target-dir ./build \
 && xx-verify --static "./build/$(xx-cargo --print-target-triple)/release/shipper" \
 && cp "./build/$(xx-cargo --print-target-triple)/release/shipper" /shipper

FROM scratch
COPY --from=build /shipper /shipper
ENTRYPOINT ["/shipper"]
