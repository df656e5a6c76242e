# heredoc words can come after flags and on continuation lines
FROM alpine
RUN --mount=type=cache,target=/var/cache/apk \
    --network=default \
    <<EOF
apk add git
EOF
RUN <<EOF \
  && echo done
echo body
EOF
