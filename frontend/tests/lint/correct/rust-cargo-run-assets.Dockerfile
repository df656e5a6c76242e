# A helper binary runs natively (cargo run) to build a search index, which is data; the
# server is cross-compiled with xx-cargo.
FROM --platform=$BUILDPLATFORM rust:1.80-bookworm AS index
WORKDIR /src
COPY . .
RUN cargo run --release --bin build-index -- --input content/ --output /out/index.bin

FROM --platform=$BUILDPLATFORM tonistiigi/xx:1.4.0 AS xx

FROM --platform=$BUILDPLATFORM rust:1.80-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends clang lld && rm -rf /var/lib/apt/lists/*
COPY --from=xx / /
ARG TARGETPLATFORM
RUN xx-apt-get install -y --no-install-recommends gcc libc6-dev
WORKDIR /src
COPY . .
RUN xx-cargo build --release --bin docsearch \
 && cp "target/$(xx-cargo --print-target-triple)/release/docsearch" /docsearch

FROM debian:bookworm-slim
COPY --from=index /out/index.bin /var/lib/docsearch/index.bin
COPY --from=build /docsearch /usr/local/bin/docsearch
ENTRYPOINT ["docsearch", "--index", "/var/lib/docsearch/index.bin"]
