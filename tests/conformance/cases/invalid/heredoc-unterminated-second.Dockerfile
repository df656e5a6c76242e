FROM alpine
RUN <<ONE <<TWO
1
ONE
2
