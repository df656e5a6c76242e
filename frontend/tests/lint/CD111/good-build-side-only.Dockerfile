FROM --platform=$BUILDPLATFORM golang:1.22 AS gen
WORKDIR /src
COPY . .
RUN go build -o /out/gen ./tools/gen && /out/gen > /out/schema.json

FROM --platform=$BUILDPLATFORM golang:1.22 AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
COPY . .
ENV GOOS=$TARGETOS GOARCH=$TARGETARCH
RUN go build -o /out/app ./cmd/app

FROM scratch
COPY --from=gen /out/schema.json /schema.json
COPY --from=build /out/app /app
