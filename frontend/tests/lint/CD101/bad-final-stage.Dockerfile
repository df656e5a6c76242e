FROM golang:1.22
WORKDIR /src
COPY . .
RUN go build -o /usr/local/bin/app . && app --self-test
ENTRYPOINT ["app"]
