FROM alpine
LABEL version="1.0"
LABEL a=b "c d"="e f" 'g'=h
LABEL org.opencontainers.image.title="crossdock test" \
      org.opencontainers.image.description="multi \"quoted\" words"
LABEL legacy value with spaces
LABEL empty=""
