# platforms: linux/amd64
FROM --platform=$BUILDPLATFORM golang:1.22 AS build
WORKDIR /src
COPY . .
RUN GOARCH=amd64 go build -o /out/app .

FROM --platform=linux/amd64 gcr.io/distroless/static
COPY --from=build /out/app /app
