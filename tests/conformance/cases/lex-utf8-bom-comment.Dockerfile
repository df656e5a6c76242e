# comment after a BOM
FROM alpine
