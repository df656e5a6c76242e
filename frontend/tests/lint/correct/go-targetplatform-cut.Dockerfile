# GOOS/GOARCH split out of TARGETPLATFORM with cut (a form from before TARGETOS and
# TARGETARCH were widely known).
FROM --platform=$BUILDPLATFORM golang:1.21 AS build
ARG TARGETPLATFORM
WORKDIR /app
COPY . .
RUN GOOS=$(echo "$TARGETPLATFORM" | cut -d/ -f1) \
    GOARCH=$(echo "$TARGETPLATFORM" | cut -d/ -f2) \
    CGO_ENABLED=0 go build -o /app/bin/pinger .

FROM debian:bookworm-slim
COPY --from=build /app/bin/pinger /usr/local/bin/pinger
CMD ["pinger"]
