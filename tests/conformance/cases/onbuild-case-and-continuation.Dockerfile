FROM alpine
onbuild run echo lower
OnBuild Copy a b
ONBUILD RUN apk add \
    curl \
    git
ONBUILD   RUN   spaced   out
