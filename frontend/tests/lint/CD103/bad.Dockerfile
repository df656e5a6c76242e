FROM debian:bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc make libc6-dev
WORKDIR /src
COPY . .
RUN make -j"$(nproc)"

FROM debian:bookworm-slim
COPY --from=build /src/app /usr/local/bin/app
