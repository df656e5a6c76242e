FROM alpine
CMD echo "hello world"
ENTRYPOINT exec /app --flag "value with spaces"
RUN echo a # this hash is not a comment
RUN    leading and trailing spaces   
RUN echo $HOME ${PATH} 'single' "double"
