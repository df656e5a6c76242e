# ./configure --host spelled out for each architecture in a case block.
FROM --platform=$BUILDPLATFORM debian:bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends make \
      gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-x86-64-linux-gnu libc6-dev-amd64-cross \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
ARG TARGETARCH
RUN case "$TARGETARCH" in \
      amd64) ./configure --host=x86_64-linux-gnu --prefix=/usr ;; \
      arm64) ./configure --host=aarch64-linux-gnu --prefix=/usr ;; \
      *) echo "unsupported: $TARGETARCH" >&2; exit 1 ;; \
    esac \
 && make -j"$(nproc)" \
 && make install DESTDIR=/out

FROM debian:bookworm-slim
COPY --from=build /out/usr/ /usr/
ENTRYPOINT ["/usr/bin/jqlite"]
