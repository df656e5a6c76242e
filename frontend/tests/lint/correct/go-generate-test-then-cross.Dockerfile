# Code generation, vet and tests run natively on the build platform (they are not
# shipped); only the final go build targets TARGETOS/TARGETARCH.
FROM --platform=$BUILDPLATFORM golang:1.22 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
RUN go install github.com/sqlc-dev/sqlc/cmd/sqlc@v1.25.0 \
 && go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.33.0
COPY . .
RUN sqlc generate && go generate ./...
RUN go vet ./... && go test -short ./...
ARG TARGETOS TARGETARCH
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/billing ./cmd/billing

FROM gcr.io/distroless/static-debian12
COPY --from=build /out/billing /billing
ENTRYPOINT ["/billing"]
