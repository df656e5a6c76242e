FROM alpine
HEALTHCHECK NONE
HEALTHCHECK CMD curl -f http://localhost/
HEALTHCHECK CMD ["curl", "-f", "http://localhost/"]
healthcheck   cmd   echo   spaced
HEALTHCHECK	CMD	["tab"]
