# flatc is built natively (it only runs during the build to generate headers); the
# application is cross-compiled with CMake for the target.
FROM --platform=$BUILDPLATFORM debian:bookworm AS flatc
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates cmake g++ make git \
 && rm -rf /var/lib/apt/lists/*
RUN git clone --depth 1 --branch v24.3.25 https://github.com/google/flatbuffers /flatbuffers \
 && cmake -S /flatbuffers -B /flatbuffers/build -DFLATBUFFERS_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=Release \
 && cmake --build /flatbuffers/build --target flatc -j"$(nproc)" \
 && install -m 0755 /flatbuffers/build/flatc /usr/local/bin/flatc

FROM --platform=$BUILDPLATFORM debian:bookworm AS build
ARG TARGETARCH
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake make \
      g++-aarch64-linux-gnu g++-x86-64-linux-gnu libc6-dev-arm64-cross libc6-dev-amd64-cross \
 && rm -rf /var/lib/apt/lists/*
COPY --from=flatc /usr/local/bin/flatc /usr/local/bin/flatc
COPY --from=flatc /flatbuffers/include /usr/local/include
WORKDIR /src
COPY . .
RUN flatc --cpp -o generated schema/*.fbs
RUN case "$TARGETARCH" in \
      amd64) triple=x86_64-linux-gnu;  proc=x86_64 ;; \
      arm64) triple=aarch64-linux-gnu; proc=aarch64 ;; \
      *) exit 1 ;; \
    esac \
 && cmake -S . -B build \
      -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=$proc \
      -DCMAKE_C_COMPILER=$triple-gcc -DCMAKE_CXX_COMPILER=$triple-g++ \
      -DCMAKE_BUILD_TYPE=Release \
 && cmake --build build -j"$(nproc)" \
 && install -D build/telemetryd /out/telemetryd

FROM debian:bookworm-slim
COPY --from=build /out/telemetryd /usr/local/bin/telemetryd
ENTRYPOINT ["telemetryd"]
