# GOOS/GOARCH come from ENV, the last instruction of the base stage.
FROM --platform=$BUILDPLATFORM golang:1.22 AS base
ARG TARGETOS TARGETARCH
ENV GOOS=${TARGETOS} GOARCH=${TARGETARCH}

FROM base AS build
WORKDIR /src
COPY . .
RUN go build -o /out/app ./cmd/app

FROM gcr.io/distroless/static
COPY --from=build /out/app /app
