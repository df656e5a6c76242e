FROM alpine
COPY --chown=app -- --weird-name /dst/
COPY -- a b
RUN -- echo no flags
RUN --network=none -- --not-a-flag
