# platforms: linux/amd64
FROM golang:1.22 AS build
WORKDIR /src
COPY . .
RUN go build -o /out/app .
FROM scratch
COPY --from=build /out/app /app
