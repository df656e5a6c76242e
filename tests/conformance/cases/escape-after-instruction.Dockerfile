FROM alpine
# escape=`
RUN echo one `
RUN echo two
