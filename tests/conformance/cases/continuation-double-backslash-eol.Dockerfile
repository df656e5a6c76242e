FROM alpine
RUN echo ends with an escaped backslash \\
RUN echo three backslashes are not a continuation either \\\
RUN echo four \\\\
RUN echo next
