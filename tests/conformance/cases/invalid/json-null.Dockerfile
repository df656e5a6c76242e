FROM alpine
COPY ["a", null]
