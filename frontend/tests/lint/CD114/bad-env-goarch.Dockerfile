# platforms: linux/amd64,linux/arm64,linux/arm/v7
FROM --platform=$BUILDPLATFORM golang:1.22 AS build
ENV CGO_ENABLED=0 GOOS=linux GOARCH="arm64"
WORKDIR /src
COPY . .
RUN go build -o /out/app .

FROM alpine:3.20
COPY --from=build /out/app /usr/local/bin/app
