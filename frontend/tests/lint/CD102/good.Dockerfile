FROM --platform=$BUILDPLATFORM rust:1.80 AS build
ARG TARGETPLATFORM
RUN case "$TARGETPLATFORM" in \
      linux/arm64) echo aarch64-unknown-linux-gnu > /triple ;; \
      *) echo x86_64-unknown-linux-gnu > /triple ;; \
    esac && rustup target add "$(cat /triple)"
ENV CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
WORKDIR /src
COPY . .
RUN cargo build --release --target "$(cat /triple)"

FROM debian:bookworm-slim
COPY --from=build /src/target/ /target/
