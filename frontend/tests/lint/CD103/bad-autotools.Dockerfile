FROM debian:bookworm AS build
RUN apt-get update && apt-get install -y build-essential autoconf automake
COPY . /src
WORKDIR /src
RUN ./configure --prefix=/opt/app && make && make install

FROM debian:bookworm-slim
COPY --from=build /opt/app /opt/app
