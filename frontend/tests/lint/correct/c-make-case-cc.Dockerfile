# A C daemon built with make; the cross compiler is picked from TARGETARCH in a case
# block and passed as CC.
FROM --platform=$BUILDPLATFORM debian:bookworm AS build
ARG TARGETARCH
RUN case "$TARGETARCH" in \
      amd64) echo x86-64-linux-gnu > /tmp/gcc-pkg ;; \
      arm64) echo aarch64-linux-gnu > /tmp/gcc-pkg ;; \
      *) echo "unsupported: $TARGETARCH" >&2; exit 1 ;; \
    esac \
 && apt-get update \
 && apt-get install -y --no-install-recommends make "gcc-$(cat /tmp/gcc-pkg)" "libc6-dev-${TARGETARCH}-cross" \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN case "$TARGETARCH" in \
      amd64) CC=x86_64-linux-gnu-gcc ;; \
      arm64) CC=aarch64-linux-gnu-gcc ;; \
    esac \
 && make CC="$CC" CFLAGS="-O2 -Wall" LDFLAGS="-static" \
 && make install PREFIX=/usr DESTDIR=/out

FROM scratch
COPY --from=build /out/usr/bin/tinyd /tinyd
ENTRYPOINT ["/tinyd"]
