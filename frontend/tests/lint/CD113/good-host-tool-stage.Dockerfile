# The code generator is built for the build machine and only runs during the build;
# the application is cross-compiled.
FROM --platform=$BUILDPLATFORM debian:bookworm AS gen
RUN apt-get update && apt-get install -y gcc make
COPY tools/gen /gen
RUN make -C /gen && install -m 0755 /gen/gen /usr/local/bin/gen

FROM --platform=$BUILDPLATFORM debian:bookworm AS build
ARG TARGETARCH
RUN apt-get update && apt-get install -y crossbuild-essential-${TARGETARCH} make
COPY --from=gen /usr/local/bin/gen /usr/local/bin/gen
WORKDIR /src
COPY . .
RUN gen schema.def > schema.h && \
    case "$TARGETARCH" in \
      amd64) make CC=x86_64-linux-gnu-gcc ;; \
      arm64) make CC=aarch64-linux-gnu-gcc ;; \
    esac

FROM debian:bookworm-slim
COPY --from=build /src/app /usr/local/bin/app
