# line numbers count comments, blank lines, continuation and heredoc lines

FROM alpine
# comment
RUN a \
    b \
# skipped
    c

COPY <<EOF /x
1
2
EOF
RUN d
