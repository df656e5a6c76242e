FROM --platform=$BUILDPLATFORM tonistiigi/xx AS xx

FROM --platform=$BUILDPLATFORM alpine:3.20 AS build
COPY --from=xx / /
RUN apk add --no-cache clang lld make
ARG TARGETPLATFORM
RUN xx-apk add --no-cache gcc musl-dev
ENV CC=xx-clang
WORKDIR /src
COPY . .
RUN cc -o /usr/local/bin/genhdr tools/genhdr.c && genhdr > gen.h
RUN make && xx-verify app && cp app /app

FROM alpine:3.20
COPY --from=build /app /usr/local/bin/app
