FROM alpine
CMD "[\"echo\", \"hi\"]"
RUN echo '["not", "json"]'
ENTRYPOINT echo ["a"]
