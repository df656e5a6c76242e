FROM alpine
CMD [["a"]]
