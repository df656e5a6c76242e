FROM alpine
ONBUILD RUN echo hi
ONBUILD ADD . /src
ONBUILD COPY --from=builder /out /out
ONBUILD CMD ["run"]
ONBUILD ENTRYPOINT /bin/app
ONBUILD ENV A=1 B="two words"
ONBUILD ENV LEGACY value with spaces
ONBUILD LABEL maintainer=me
ONBUILD HEALTHCHECK --interval=30s CMD curl -f http://localhost/
ONBUILD EXPOSE 80
ONBUILD VOLUME ["/data"]
ONBUILD USER app
ONBUILD WORKDIR /src
ONBUILD ARG V=1
ONBUILD STOPSIGNAL SIGINT
ONBUILD SHELL ["/bin/sh", "-c"]
