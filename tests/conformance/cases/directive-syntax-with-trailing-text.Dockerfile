# syntax = docker/dockerfile:1 # trailing words belong to the value
FROM alpine
