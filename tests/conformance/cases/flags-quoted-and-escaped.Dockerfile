FROM alpine
RUN --mount=type=secret,id="my secret" --mount='type=cache,target=/a b' true
COPY --chown="app user" --chmod='0644' a b
COPY --chown=a\ b --chmod=x\"y c d
COPY --chown="esc\"aped" e f
COPY --chown= --chmod="" g h
