FROM alpine
RUN -x
COPY --link=true a b
COPY --link=false --from=0 c d
RUN --mount=type=cache,target=/x,id=cache-1 --mount=target=/y,type=cache echo
