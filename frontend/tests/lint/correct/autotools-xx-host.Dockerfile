# An autotools project configured with --host from xx-info, built with xx-clang.
FROM --platform=$BUILDPLATFORM tonistiigi/xx:1.4.0 AS xx

FROM --platform=$BUILDPLATFORM alpine:3.19 AS build
RUN apk add --no-cache clang lld make autoconf automake libtool pkgconf file
COPY --from=xx / /
ARG TARGETPLATFORM
RUN xx-apk add --no-cache musl-dev gcc ncurses-dev ncurses-static
WORKDIR /src
COPY . .
RUN autoreconf -fi \
 && CC=xx-clang ./configure --host=$(xx-info triple) --prefix=/usr --enable-static --disable-shared \
 && make -j"$(nproc)" \
 && make install DESTDIR=/out \
 && xx-verify /out/usr/bin/htop-lite

FROM alpine:3.19
RUN apk add --no-cache ncurses-libs
COPY --from=build /out/usr/bin/htop-lite /usr/bin/htop-lite
ENTRYPOINT ["htop-lite"]
