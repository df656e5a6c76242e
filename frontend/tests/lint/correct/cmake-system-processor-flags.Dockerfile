FROM --platform=$BUILDPLATFORM ubuntu:22.04 AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake make g++-aarch64-linux-gnu g++-x86-64-linux-gnu \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt .
COPY src/ src/
ARG TARGETARCH
RUN case "$TARGETARCH" in \
      amd64) PROC=x86_64 ;; \
      arm64) PROC=aarch64 ;; \
      *) exit 1 ;; \
    esac \
 && cmake -S . -B /build \
      -DCMAKE_SYSTEM_NAME=Linux \
      -DCMAKE_SYSTEM_PROCESSOR=$PROC \
      -DCMAKE_C_COMPILER=$PROC-linux-gnu-gcc \
      -DCMAKE_CXX_COMPILER=$PROC-linux-gnu-g++ \
      -DCMAKE_BUILD_TYPE=Release \
 && cmake --build /build -j"$(nproc)" \
 && cmake --install /build --prefix /opt/calc

FROM ubuntu:22.04
COPY --from=build /opt/calc /opt/calc
ENV PATH=/opt/calc/bin:$PATH
ENTRYPOINT ["calc"]
