FROM --platform=$BUILDPLATFORM debian:bookworm AS toolchain
ARG TARGETARCH
RUN dpkg --add-architecture ${TARGETARCH} && \
    apt-get update && \
    apt-get install -y --no-install-recommends \
        cmake ninja-build pkg-config \
        crossbuild-essential-${TARGETARCH} \
        libssl-dev:${TARGETARCH} zlib1g-dev:${TARGETARCH}

FROM toolchain AS build
WORKDIR /src
COPY . .
RUN cmake -S . -B build -G Ninja -DCMAKE_TOOLCHAIN_FILE=/src/cmake/${TARGETARCH}.cmake && \
    cmake --build build && \
    cmake --install build --prefix /out

FROM debian:bookworm-slim
COPY --from=build /out /usr/local
