# platforms: linux/amd64
FROM --platform=$BUILDPLATFORM gcc:14 AS build
WORKDIR /src
COPY hello.c .
RUN gcc -O2 -static -o /hello hello.c

FROM scratch
COPY --from=build /hello /hello
