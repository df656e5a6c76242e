# heredoc inside ONBUILD: the lines are consumed, but the oracle reports no heredocs
FROM alpine
ONBUILD RUN <<EOF
echo from a child image
EOF
ONBUILD COPY <<EOF /onbuild.txt
content
EOF
RUN echo parent
