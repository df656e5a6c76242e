ARG BASE=alpine
FROM --platform=$BUILDPLATFORM golang:1.22 AS build
FROM --platform=linux/arm64 ${BASE}:3.20 AS arm
FROM --platform=${TARGETPLATFORM:-linux/amd64} scratch
