FROM --platform=$BUILDPLATFORM alpine:3.20 AS build
RUN apk add --no-cache build-base
WORKDIR /src
COPY . .
RUN ./configure --prefix=/usr --disable-shared
RUN make && make DESTDIR=/out install

FROM alpine:3.20 AS runtime-base

FROM runtime-base
COPY --from=build /out/usr/bin/ /usr/bin/
