# escape=`
# comment
# escape=\
FROM alpine
RUN echo a `
    b
