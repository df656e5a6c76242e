# escape=`

FROM mcr.microsoft.com/windows/servercore:ltsc2022
WORKDIR C:\app
COPY C:\src\foo.txt C:\app\
RUN dir C:\
RUN powershell -Command `
    $ErrorActionPreference = 'Stop'; `
    Write-Host "hello `"quoted`""
ENV PATH=C:\tools;C:\Windows `
    HOME=C:\Users\app
CMD ["C:\\app\\run.exe", "--flag"]
