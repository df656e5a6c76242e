# a normal comment ends directive scanning
# escape=`
FROM alpine
RUN echo not continued `
RUN echo continued \
    here
