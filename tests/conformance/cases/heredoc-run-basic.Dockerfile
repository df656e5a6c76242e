# RUN with a plain heredoc
FROM alpine:3.20
RUN <<EOF
set -eu
apk add --no-cache curl
echo "done: $HOSTNAME"
EOF
RUN echo after
