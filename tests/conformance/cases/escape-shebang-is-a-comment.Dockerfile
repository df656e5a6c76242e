#!/usr/bin/env buildctl
# escape=`
FROM alpine
RUN echo one `
RUN echo two
