FROM alpine
USER app
USER 1000:1000
WORKDIR /app
WORKDIR /path with spaces/inside  
STOPSIGNAL SIGTERM
STOPSIGNAL 9
MAINTAINER Jane Doe <jane@example.com>
