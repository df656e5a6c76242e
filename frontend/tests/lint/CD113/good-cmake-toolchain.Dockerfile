FROM --platform=$BUILDPLATFORM debian:bookworm AS toolchain
ARG TARGETARCH
RUN dpkg --add-architecture ${TARGETARCH} && \
    apt-get update && \
    apt-get install -y --no-install-recommends cmake ninja-build crossbuild-essential-${TARGETARCH}

FROM toolchain AS build
WORKDIR /src
COPY . .
RUN cmake -S . -B build -G Ninja -DCMAKE_TOOLCHAIN_FILE=/src/cmake/${TARGETARCH}.cmake && \
    cmake --build build && \
    cmake --install build --prefix /out

FROM scratch AS export
COPY --from=build /out /
