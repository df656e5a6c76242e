# BuildKit scans flags byte by byte: non-ASCII bytes become one rune each (mojibake)
FROM alpine
COPY --chown=café a b
RUN --mount=type=cache,id=日本,target=/x true
