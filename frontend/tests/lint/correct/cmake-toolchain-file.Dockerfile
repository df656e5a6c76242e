# syntax=docker/dockerfile:1
# CMake with a toolchain file written for the target: CMAKE_SYSTEM_NAME,
# CMAKE_SYSTEM_PROCESSOR and the cross compilers.
FROM --platform=$BUILDPLATFORM debian:bookworm AS build
ARG TARGETARCH
RUN <<EOF
set -eu
case "$TARGETARCH" in
  amd64) proc=x86_64;  triple=x86_64-linux-gnu;  pkg=x86-64-linux-gnu ;;
  arm64) proc=aarch64; triple=aarch64-linux-gnu; pkg=aarch64-linux-gnu ;;
  *) echo "unsupported: $TARGETARCH" >&2; exit 1 ;;
esac
apt-get update
apt-get install -y --no-install-recommends cmake ninja-build \
  "gcc-$pkg" "g++-$pkg" "libc6-dev-${TARGETARCH}-cross"
rm -rf /var/lib/apt/lists/*
cat > /toolchain.cmake <<TOOLCHAIN
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR $proc)
set(CMAKE_C_COMPILER $triple-gcc)
set(CMAKE_CXX_COMPILER $triple-g++)
set(CMAKE_FIND_ROOT_PATH /usr/$triple)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
TOOLCHAIN
EOF
WORKDIR /src
COPY . .
RUN cmake -S . -B build -G Ninja \
      -DCMAKE_TOOLCHAIN_FILE=/toolchain.cmake \
      -DCMAKE_BUILD_TYPE=Release \
      -DBUILD_TESTING=OFF \
 && cmake --build build --parallel \
 && DESTDIR=/out cmake --install build --prefix /usr

FROM debian:bookworm-slim
COPY --from=build /out/usr/ /usr/
ENTRYPOINT ["/usr/bin/imgconv"]
