FROM golang:1.22
RUN --mount=type=cache,target=/root/.cache/go-build --mount=type=cache,target=/go/pkg/mod,sharing=locked go build ./...
RUN --mount=type=bind,from=builder,source=/src,target=/src,rw \
    --mount=type=secret,id=npmrc,target=/root/.npmrc \
    --mount=type=ssh \
    --mount=type=tmpfs,target=/tmp,size=64m \
    make
RUN --network=none --security=sandbox true
RUN --network=host echo host
