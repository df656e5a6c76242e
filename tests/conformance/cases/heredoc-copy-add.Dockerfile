# heredocs as COPY / ADD sources
FROM debian:bookworm
COPY <<EOF /usr/local/bin/hello
#!/bin/sh
echo hello
EOF
COPY --chmod=755 <<EOF /usr/local/bin/bye
#!/bin/sh
echo bye
EOF
ADD <<EOF /etc/motd
Welcome
EOF
