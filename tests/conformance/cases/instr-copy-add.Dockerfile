FROM alpine
COPY . /src
COPY a b c /dst/
COPY ["a b", "/c"]
ADD https://example.com/file.tgz /tmp/
ADD git@github.com:moby/buildkit.git /bk
ADD *.tar.gz /archives/
