FROM alpine
# a comment ending in a backslash does not continue \
RUN echo separate
