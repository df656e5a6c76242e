# busybox-style Makefile: the cross toolchain is selected with CROSS_COMPILE.
FROM --platform=$BUILDPLATFORM debian:bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends make bzip2 ca-certificates curl \
      gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-x86-64-linux-gnu libc6-dev-amd64-cross \
 && rm -rf /var/lib/apt/lists/*
ARG BUSYBOX_VERSION=1.36.1
RUN curl -fsSL https://busybox.net/downloads/busybox-${BUSYBOX_VERSION}.tar.bz2 | tar -xj -C /usr/src
WORKDIR /usr/src/busybox-${BUSYBOX_VERSION}
ARG TARGETARCH
RUN case "$TARGETARCH" in \
      amd64) prefix=x86_64-linux-gnu- ;; \
      arm64) prefix=aarch64-linux-gnu- ;; \
      *) exit 1 ;; \
    esac \
 && make defconfig \
 && sed -i 's/^# CONFIG_STATIC is not set/CONFIG_STATIC=y/' .config \
 && make -j"$(nproc)" CROSS_COMPILE="$prefix" busybox \
 && install -D busybox /out/bin/busybox

FROM scratch
COPY --from=build /out/bin/busybox /bin/busybox
ENTRYPOINT ["/bin/busybox"]
CMD ["sh"]
