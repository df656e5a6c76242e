FROM golang:1.22 AS build
WORKDIR /src
COPY . .
RUN go build -o /out/gen ./cmd/gen && /out/gen > internal/generated.go
RUN go test ./... && go build -o /out/app ./cmd/app

FROM gcr.io/distroless/static
COPY --from=build /out/app /app
