# platforms: linux/arm64
FROM --platform=$BUILDPLATFORM alpine:3.20 AS build
RUN apk add --no-cache clang lld make musl-dev zlib-dev openssl-dev
WORKDIR /src
COPY . .
RUN make CC="clang --target=aarch64-alpine-linux-musl" && make install DESTDIR=/out

FROM alpine:3.20
COPY --from=build /out /
