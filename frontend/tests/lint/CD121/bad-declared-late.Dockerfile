# Used before the ARG line: the cache id is `dl-` for every platform and the default
# always wins; ENV copies an empty value.
FROM --platform=$BUILDPLATFORM alpine:3.20 AS fetch
RUN --mount=type=cache,id=dl-$TARGETARCH,target=/cache \
    echo "fetching for ${TARGETARCH:-amd64}" > /cache/log
ENV PLATFORM=$TARGETPLATFORM
ARG TARGETARCH
WORKDIR /out/$TARGETARCH

FROM alpine:3.20
COPY --from=fetch /out /out
