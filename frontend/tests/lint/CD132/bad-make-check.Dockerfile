# platforms: linux/arm64
FROM --platform=$BUILDPLATFORM debian:bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends crossbuild-essential-arm64
WORKDIR /src
COPY . .
RUN ./configure --host=aarch64-linux-gnu --prefix=/usr && make
RUN make check
RUN make install DESTDIR=/out

FROM debian:bookworm-slim
COPY --from=build /out /
