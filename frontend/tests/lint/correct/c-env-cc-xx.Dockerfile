# CC/CXX set once with ENV to the xx wrappers; make and cmake pick them up.
FROM --platform=$BUILDPLATFORM tonistiigi/xx:1.4.0 AS xx

FROM --platform=$BUILDPLATFORM debian:bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends clang lld make cmake pkg-config \
 && rm -rf /var/lib/apt/lists/*
COPY --from=xx / /
ARG TARGETPLATFORM
RUN xx-apt-get install -y --no-install-recommends libc6-dev libstdc++-12-dev libssl-dev
ENV CC=xx-clang CXX=xx-clang++
WORKDIR /src
COPY . .
RUN cmake -S . -B build $(xx-clang --print-cmake-defines) -DCMAKE_BUILD_TYPE=Release \
 && cmake --build build -j"$(nproc)" \
 && xx-verify build/vaultd \
 && install -D build/vaultd /out/vaultd

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libssl3 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/vaultd /usr/local/bin/vaultd
ENTRYPOINT ["vaultd"]
