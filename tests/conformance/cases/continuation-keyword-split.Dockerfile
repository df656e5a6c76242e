FROM alpine
RUN \
    echo starts on the next line
COPY \
    --from=alpine \
    /etc/os-release \
    /tmp/
