FROM --platform=$BUILDPLATFORM tonistiigi/xx AS xx

FROM --platform=$BUILDPLATFORM debian:bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends clang lld file
COPY --from=xx / /
ARG TARGETPLATFORM
RUN xx-apt-get install -y --no-install-recommends libc6-dev gcc
WORKDIR /src
COPY hello.c .
RUN xx-clang -O2 -o /out/hello hello.c && xx-verify /out/hello

FROM debian:bookworm-slim
COPY --from=build /out/hello /usr/local/bin/hello
CMD ["hello"]
