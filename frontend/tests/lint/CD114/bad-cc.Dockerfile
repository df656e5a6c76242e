FROM --platform=$BUILDPLATFORM debian:bookworm AS build
RUN apt-get update && apt-get install -y gcc-aarch64-linux-gnu make
WORKDIR /src
COPY . .
RUN make CC=aarch64-linux-gnu-gcc
RUN aarch64-linux-gnu-gcc -O2 -o /out/helper helper.c

FROM debian:bookworm-slim
COPY --from=build /src/app /out/helper /usr/local/bin/
