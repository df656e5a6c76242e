# <<"EOF": quoted delimiter, name is reported unquoted
FROM alpine
RUN <<"EOF"
echo "$HOME is not expanded here"
EOF
COPY <<"CONF" /etc/app.conf
path = ${PREFIX}/share
CONF
