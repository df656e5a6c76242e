FROM rust:1.80 AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked

FROM debian:bookworm-slim
COPY --from=build /src/target/release/app /usr/local/bin/app
ENTRYPOINT ["/usr/local/bin/app"]
