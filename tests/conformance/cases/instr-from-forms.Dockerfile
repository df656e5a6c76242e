FROM alpine
FROM alpine AS base
FROM alpine:3.20 as lower-as
FROM base As mixed
FROM docker.io/library/alpine:3.20@sha256:0000000000000000000000000000000000000000000000000000000000000000 AS pinned
FROM scratch
FROM   alpine    AS    spaced
