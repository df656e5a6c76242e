# Any --platform on a FROM naming a stage is ignored, constant or not (CD124 is not
# reported as well: the fix is to remove the flag).
FROM --platform=$BUILDPLATFORM alpine:3.20 AS base
RUN apk add --no-cache curl

FROM --platform=linux/arm64 base AS fetch
RUN curl -fsSLo /data.json https://example.com/data.json

FROM alpine:3.20
COPY --from=fetch /data.json /data.json
