FROM alpine
RUN echo "hello \
    world"
ENV GREETING="hello \
world" OTHER='a \
b'
LABEL description="multi \
    line"
