FROM alpine
CMD ["echo", "hello"]
ENTRYPOINT ["/bin/sh", "-c"]
RUN ["apk", "add", "curl"]
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
