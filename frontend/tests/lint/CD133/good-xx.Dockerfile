FROM --platform=$BUILDPLATFORM tonistiigi/xx:1.5.0 AS xx

FROM --platform=$BUILDPLATFORM golang:1.22-alpine AS build
COPY --from=xx / /
RUN apk add --no-cache clang lld
ARG TARGETPLATFORM
RUN xx-apk add --no-cache musl-dev gcc
WORKDIR /src
COPY . .
RUN CGO_ENABLED=1 xx-go build -o /out/app ./cmd/app && xx-verify /out/app

FROM alpine:3.20
COPY --from=build /out/app /usr/local/bin/app
