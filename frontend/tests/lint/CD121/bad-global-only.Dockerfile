# A global ARG is seen by FROM lines only; the stage must declare it again.
ARG TARGETOS
ARG TARGETARCH
FROM --platform=$BUILDPLATFORM alpine:3.20 AS pick
RUN echo "$TARGETOS/$TARGETARCH" > /target
LABEL org.example.arch="${TARGETARCH}"

FROM alpine:3.20
COPY --from=pick /target /target
