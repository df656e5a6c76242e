# syntax=docker/dockerfile:1
FROM --platform=$BUILDPLATFORM debian:bookworm AS build
ARG TARGETARCH
RUN apt-get update \
 && apt-get install -y --no-install-recommends meson ninja-build pkg-config \
      gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-x86-64-linux-gnu libc6-dev-amd64-cross \
 && rm -rf /var/lib/apt/lists/*
RUN case "$TARGETARCH" in \
      amd64) cpu=x86_64;  triple=x86_64-linux-gnu ;; \
      arm64) cpu=aarch64; triple=aarch64-linux-gnu ;; \
      *) exit 1 ;; \
    esac \
 && printf '%s\n' \
      '[binaries]' \
      "c = '$triple-gcc'" \
      "ar = '$triple-ar'" \
      "strip = '$triple-strip'" \
      '[host_machine]' \
      "system = 'linux'" \
      "cpu_family = '$cpu'" \
      "cpu = '$cpu'" \
      "endian = 'little'" \
      > /cross.ini
WORKDIR /src
COPY . .
RUN meson setup --cross-file /cross.ini --buildtype=release --prefix=/usr builddir \
 && meson compile -C builddir \
 && DESTDIR=/out meson install -C builddir

FROM debian:bookworm-slim
COPY --from=build /out/usr/ /usr/
ENTRYPOINT ["/usr/bin/wavetool"]
