FROM alpine
ENV K=v K2="x y" K3='single' K4=a\ b
ENV EMPTY1="" EMPTY2= EMPTY3=''
ENV ESC="a\"b" SQ='a\' BS=c\\d
ENV PATH=/usr/local/bin:$PATH GOPATH="${HOME}/go"
ENV EQ=a=b=c
ENV ÜNI=ü
