# syntax=docker/dockerfile:1
FROM --platform=$BUILDPLATFORM tonistiigi/xx:1.4.0 AS xx

FROM --platform=$BUILDPLATFORM alpine:3.19 AS build
RUN apk add --no-cache clang lld make pkgconf
COPY --from=xx / /
ARG TARGETPLATFORM
RUN xx-apk add --no-cache musl-dev gcc zlib-dev zlib-static
WORKDIR /src
COPY . .
RUN make CC=xx-clang PKG_CONFIG="$(xx-info triple)-pkg-config" LDFLAGS="-static" \
 && xx-verify --static ./bin/packer \
 && install -D -m 0755 ./bin/packer /out/packer

FROM alpine:3.19
COPY --from=build /out/packer /usr/bin/packer
ENTRYPOINT ["packer"]
