# unlike a shell, the delimiter word runs up to the next whitespace
FROM alpine
RUN cat <<EOF>out
x
EOF>out
RUN cat <<EOF;
y
EOF;
RUN cat <<EOF | sh
echo piped
EOF
