FROM debian:bookworm AS build
RUN apt-get update && apt-get install -y cmake g++ make
COPY . /src
RUN cmake -S /src -B /build -DCMAKE_BUILD_TYPE=Release && cmake --build /build

FROM debian:bookworm-slim
COPY --from=build /build/app /usr/local/bin/app
