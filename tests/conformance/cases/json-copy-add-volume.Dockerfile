FROM alpine
COPY ["file with spaces.txt", "/dst dir/"]
COPY --chown=1000:1000 ["a", "b", "/c/"]
ADD ["https://example.com/archive.tar.gz", "/tmp/"]
VOLUME ["/data", "/logs"]
VOLUME /plain /list
VOLUME /one
