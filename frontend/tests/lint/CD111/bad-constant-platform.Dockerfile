FROM --platform=linux/amd64 golang:1.22 AS build
WORKDIR /src
COPY . .
RUN go build -o /out/app .

FROM --platform=$BUILDPLATFORM alpine AS package
COPY --from=build /out/app /pkg/app

FROM scratch
COPY --from=package /pkg /
