FROM alpine
RUN <<EOF
last
EOF