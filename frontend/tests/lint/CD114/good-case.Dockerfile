FROM --platform=$BUILDPLATFORM debian:bookworm AS build
ARG TARGETARCH
RUN apt-get update && apt-get install -y gcc-aarch64-linux-gnu gcc-x86-64-linux-gnu make
WORKDIR /src
COPY . .
RUN case "$TARGETARCH" in \
      amd64) make CC=x86_64-linux-gnu-gcc ;; \
      arm64) make CC=aarch64-linux-gnu-gcc ;; \
      *) echo "unsupported $TARGETARCH" >&2; exit 1 ;; \
    esac
RUN if [ "$TARGETARCH" = "arm64" ]; then export GOARCH=arm64; else export GOARCH=amd64; fi && \
    GOOS=linux go build -o /out/app .

FROM debian:bookworm-slim
COPY --from=build /src/app /out/app /usr/local/bin/
