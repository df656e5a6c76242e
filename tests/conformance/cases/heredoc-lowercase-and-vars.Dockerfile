# lower case instruction, variable-looking delimiter
FROM alpine
run <<eof
lower
eof
RUN <<$EOF
dollar
$EOF
RUN cat <<EOF "$X" <<EOF2
a
EOF
b
EOF2
