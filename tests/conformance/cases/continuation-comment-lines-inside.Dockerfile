FROM alpine
RUN apk add \
# a comment inside the continuation
    curl \
    # an indented comment
    git \
    make
