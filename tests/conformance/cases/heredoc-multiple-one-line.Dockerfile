# several heredocs on one line are read one after the other
FROM alpine
RUN <<FIRST cat > /a && <<SECOND cat > /b
alpha
FIRST
beta
SECOND
COPY <<one <<two /dst/
1
one
2
two
RUN <<A <<A
same name twice
A
second body
A
