FROM alpine
CMD ["a", "b",]
