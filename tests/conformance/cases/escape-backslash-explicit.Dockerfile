# escape=\
FROM alpine
RUN echo one \
    two
ENV A=a\ b
