FROM alpine
RUN echo one \
