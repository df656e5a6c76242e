FROM alpine
RUN echo one \
\
    two
\
EXPOSE 80
