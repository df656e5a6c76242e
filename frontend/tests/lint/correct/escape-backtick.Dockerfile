# escape=`
# Written with the backtick escape (a habit from Windows Dockerfiles), so a backslash
# is an ordinary character; the Go build runs on the build platform and cross-compiles.
FROM --platform=$BUILDPLATFORM golang:1.22 AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH `
    go build `
      -trimpath `
      -ldflags "-X main.banner=agent\ ready" `
      -o /out/agent `
      ./cmd/agent

FROM alpine:3.19
COPY --from=build /out/agent /usr/local/bin/agent
RUN printf 'level=info\n' > /etc/agent.conf
ENTRYPOINT ["agent"]
