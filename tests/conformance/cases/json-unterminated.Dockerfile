FROM alpine
CMD ["echo", "missing bracket"
ENTRYPOINT ["unterminated string
RUN [ "a",
