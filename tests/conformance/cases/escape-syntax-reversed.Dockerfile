# escape=`
# syntax=docker/dockerfile:1.7
FROM mcr.microsoft.com/windows/nanoserver:ltsc2022
RUN echo a `
    b
