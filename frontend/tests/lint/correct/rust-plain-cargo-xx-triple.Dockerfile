# Plain cargo with the triple from xx and the linker from xx-clang; `cargo install` of a
# pinned tool for the target too.
FROM --platform=$BUILDPLATFORM tonistiigi/xx:1.4.0 AS xx

FROM --platform=$BUILDPLATFORM rust:1.80-alpine AS build
RUN apk add --no-cache clang lld musl-dev
COPY --from=xx / /
ARG TARGETPLATFORM
RUN xx-apk add --no-cache musl-dev gcc \
 && rustup target add "$(xx-cargo --print-target-triple)"
WORKDIR /src
COPY . .
RUN triple="$(xx-cargo --print-target-triple)" \
 && xx-clang --setup-target-triple \
 && export "CARGO_TARGET_$(echo "$triple" | tr 'a-z-' 'A-Z_')_LINKER=$(xx-info triple)-clang" \
 && cargo build --release --target "$triple" \
 && cargo install --locked --target "$triple" --root /out just@1.25.2 \
 && cp "target/$triple/release/taskd" /out/bin/taskd

FROM alpine:3.19
COPY --from=build /out/bin/ /usr/local/bin/
ENTRYPOINT ["taskd"]
