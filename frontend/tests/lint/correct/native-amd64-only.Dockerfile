# platforms: linux/amd64
# Built for the build machine's own platform only: compiling in stages without
# --platform is native, nothing is emulated.
FROM golang:1.22 AS api
WORKDIR /src
COPY . .
RUN go build -o /out/api ./cmd/api

FROM rust:1.80 AS indexer
WORKDIR /src
COPY indexer/ .
RUN cargo build --release

FROM gcc:13 AS native-lib
WORKDIR /src
COPY native/ .
RUN ./configure --prefix=/usr && make -j"$(nproc)" && make install DESTDIR=/out

FROM debian:bookworm-slim
COPY --from=native-lib /out/usr/lib/ /usr/lib/
COPY --from=indexer /src/target/release/indexer /usr/local/bin/indexer
COPY --from=api /out/api /usr/local/bin/api
CMD ["api"]
