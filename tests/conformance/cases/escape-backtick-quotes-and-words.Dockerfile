# escape=`
FROM alpine
ENV MSG="say `"hi`"" PATHS=C:\a\b
LABEL note='single `' other="back\slash"
ARG WIN=C:\x`
ARG NEXT=1
RUN echo trailing backslash is literal \
RUN echo double backtick ``
