FROM alpine
LABEL onlykey
