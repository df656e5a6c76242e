# The default keeps `docker build` without BuildKit working (BUILDPLATFORM is empty
# there); under BuildKit the build platform is used.
FROM --platform=${BUILDPLATFORM:-linux/amd64} golang:1.22-alpine AS builder
ARG TARGETOS=linux
ARG TARGETARCH=amd64
WORKDIR /app
COPY go.* ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -o /app/bin/worker ./cmd/worker

FROM alpine:3.19
RUN adduser -D -u 10001 app
COPY --from=builder /app/bin/worker /usr/bin/worker
USER app
CMD ["worker"]
