FROM --platform=$BUILDPLATFORM ubuntu:24.04 AS build
RUN apt-get update && apt-get install -y cmake ninja-build g++
WORKDIR /src
COPY . .
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && \
    cmake --build build && \
    cmake --install build --prefix /out

FROM ubuntu:24.04
COPY --from=build /out /usr/local
