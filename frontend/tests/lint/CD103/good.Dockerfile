FROM --platform=$BUILDPLATFORM debian:bookworm AS build
ARG TARGETARCH
RUN apt-get update && apt-get install -y make gcc-aarch64-linux-gnu gcc-x86-64-linux-gnu
WORKDIR /src
COPY . .
RUN case "$TARGETARCH" in \
      arm64) cc=aarch64-linux-gnu-gcc ;; \
      *) cc=x86_64-linux-gnu-gcc ;; \
    esac && make CC="$cc"

FROM debian:bookworm-slim
COPY --from=build /src/app /usr/local/bin/app
