FROM alpine
RUN echo one \
# trailing comment
