# syntax=docker/dockerfile:1.7-labs
FROM alpine
RUN echo hi
