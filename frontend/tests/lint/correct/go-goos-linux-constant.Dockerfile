# The most common hand-written form: GOOS fixed to linux (every target is Linux),
# GOARCH from TARGETARCH with a default for builders without BuildKit.
FROM --platform=$BUILDPLATFORM golang:1.22-alpine AS build
ARG TARGETARCH
WORKDIR /go/src/github.com/acme/webhook
COPY . .
RUN CGO_ENABLED=0 GOOS=linux GOARCH=${TARGETARCH:-amd64} go build -a -installsuffix cgo -o /webhook ./cmd/webhook

FROM alpine:3.19
RUN apk --no-cache add ca-certificates
COPY --from=build /webhook /webhook
ENTRYPOINT ["/webhook"]
