FROM alpine
RUNecho vt
RUNecho ff
EXPOSE 8081
