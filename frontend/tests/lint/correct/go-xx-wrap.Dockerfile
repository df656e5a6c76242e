# `xx-go --wrap` makes the plain `go` command cross-compile for TARGETPLATFORM.
FROM --platform=$BUILDPLATFORM tonistiigi/xx:1.4.0 AS xx

FROM --platform=$BUILDPLATFORM golang:1.22-alpine AS build
COPY --from=xx / /
ARG TARGETPLATFORM
RUN xx-go --wrap
WORKDIR /src
COPY . .
ENV CGO_ENABLED=0
RUN go build -o /out/beacon ./cmd/beacon && xx-verify /out/beacon

FROM alpine:3.19
COPY --from=build /out/beacon /usr/bin/beacon
ENTRYPOINT ["beacon"]
