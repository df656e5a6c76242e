# empty and blank-line-only heredoc bodies
FROM alpine
RUN <<EOF
EOF
RUN <<EOF

EOF
COPY <<EOF /empty
EOF
