# The image is linux/amd64 whatever platform is built: the linux/arm64 image holds
# amd64 binaries.
FROM --platform=linux/amd64 alpine:3.20
RUN apk add --no-cache ca-certificates
CMD ["sh"]
