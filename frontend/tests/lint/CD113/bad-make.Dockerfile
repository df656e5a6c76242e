FROM --platform=$BUILDPLATFORM debian:bookworm AS build
RUN apt-get update && apt-get install -y build-essential
WORKDIR /src
COPY . .
RUN make -j"$(nproc)" && make install PREFIX=/out

FROM debian:bookworm-slim
COPY --from=build /out/bin/tool /usr/local/bin/tool
