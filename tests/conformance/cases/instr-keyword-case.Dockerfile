from alpine
Run echo mixed
rUN echo odd
copy a b
Env A=1
label a=b
workdir /x
user nobody
expose 80
volume /v
stopsignal SIGKILL
arg X
cmd echo c
entrypoint echo e
shell ["/bin/sh", "-c"]
healthcheck none
maintainer someone
add a b
