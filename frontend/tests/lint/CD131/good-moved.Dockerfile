FROM --platform=$BUILDPLATFORM golang:1.22 AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go install ./cmd/app && \
    if [ -d /go/bin/${TARGETOS}_${TARGETARCH} ]; then \
        mv /go/bin/${TARGETOS}_${TARGETARCH}/* /go/bin/; \
    fi

FROM gcr.io/distroless/static
COPY --from=build /go/bin/app /app
