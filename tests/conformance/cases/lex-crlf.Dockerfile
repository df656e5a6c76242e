# CRLF line endings throughout
FROM alpine
RUN echo one \
    two
ENV A=1 \

    B=2
CMD ["a", "b"]
LABEL x="y"
