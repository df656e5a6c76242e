# platforms: windows/amd64,linux/amd64,linux/arm64
# One Dockerfile for Linux and Windows images: the binary is cross-compiled on the
# (Linux) build platform; the final stages only copy.
FROM --platform=$BUILDPLATFORM golang:1.22 AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/ /src/cmd/exporter

FROM scratch AS linux
COPY --from=build /out/exporter /exporter
ENTRYPOINT ["/exporter"]

FROM mcr.microsoft.com/windows/nanoserver:ltsc2022 AS windows
COPY --from=build /out/exporter.exe /exporter.exe
ENTRYPOINT ["C:\\exporter.exe"]

FROM ${TARGETOS}
