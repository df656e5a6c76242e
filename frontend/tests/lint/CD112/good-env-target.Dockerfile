FROM --platform=$BUILDPLATFORM rust:1.80 AS build
ARG TARGETARCH
RUN case "$TARGETARCH" in \
      amd64) echo x86_64-unknown-linux-gnu > /rust-target ;; \
      arm64) echo aarch64-unknown-linux-gnu > /rust-target ;; \
    esac
WORKDIR /app
COPY . .
RUN export CARGO_BUILD_TARGET="$(cat /rust-target)" && \
    cargo build --release && \
    cp target/$CARGO_BUILD_TARGET/release/app /app/app

FROM gcr.io/distroless/cc-debian12
COPY --from=build /app/app /app
