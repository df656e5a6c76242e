FROM --platform=$BUILDPLATFORM tonistiigi/xx AS xx

FROM --platform=$BUILDPLATFORM golang:1.22-alpine AS build
COPY --from=xx / /
ARG TARGETPLATFORM
WORKDIR /src
COPY . .
RUN xx-go build -o /out/app ./cmd/app && xx-verify /out/app
RUN xx-go --wrap
RUN go build -o /out/worker ./cmd/worker

FROM alpine:3.20
COPY --from=build /out/ /usr/local/bin/
