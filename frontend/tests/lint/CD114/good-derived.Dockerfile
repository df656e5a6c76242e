FROM --platform=$BUILDPLATFORM golang:1.22 AS build
ARG TARGETOS TARGETARCH
ENV GOOS=$TARGETOS GOARCH=$TARGETARCH CGO_ENABLED=0
WORKDIR /src
COPY . .
RUN GOOS=linux go build -o /out/app .

FROM --platform=$BUILDPLATFORM alpine:3.20 AS certs
RUN apk add --no-cache ca-certificates

FROM --platform=linux/amd64 alpine:3.20 AS zoneinfo
RUN apk add --no-cache tzdata

FROM scratch
COPY --from=certs /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=zoneinfo /usr/share/zoneinfo /usr/share/zoneinfo
COPY --from=build /out/app /app
