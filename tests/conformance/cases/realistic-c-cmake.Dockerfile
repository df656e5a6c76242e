FROM --platform=$BUILDPLATFORM debian:bookworm AS toolchain
ARG TARGETARCH
RUN dpkg --add-architecture ${TARGETARCH} && \
    apt-get update && \
    apt-get install -y --no-install-recommends \
        cmake ninja-build pkg-config \
        crossbuild-essential-${TARGETARCH} \
        libssl-dev:${TARGETARCH}

FROM toolchain AS build
WORKDIR /src
COPY . .
COPY <<EOF /toolchain.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${CC})
EOF
RUN --mount=type=cache,target=/src/build \
    cmake -S . -B build -G Ninja -DCMAKE_TOOLCHAIN_FILE=/toolchain.cmake && \
    cmake --build build && \
    cmake --install build --prefix /out

FROM scratch AS export
COPY --from=build /out /
