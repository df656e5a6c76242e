FROM --platform=$BUILDPLATFORM debian:bookworm AS build
ARG TARGETARCH
RUN dpkg --add-architecture "$TARGETARCH" && apt-get update && \
    apt-get install -y crossbuild-essential-"$TARGETARCH" autoconf automake
WORKDIR /src
COPY . .
RUN case "$TARGETARCH" in \
      amd64) echo x86_64-linux-gnu > /triple ;; \
      arm64) echo aarch64-linux-gnu > /triple ;; \
    esac
RUN autoreconf -fi && ./configure --host="$(cat /triple)" --prefix=/out
RUN make -j"$(nproc)" && make install

FROM debian:bookworm-slim
COPY --from=build /out/bin/tool /usr/local/bin/tool
