FROM --platform=$BUILDPLATFORM debian:bookworm-slim AS download
RUN apt-get update && apt-get install -y --no-install-recommends curl ca-certificates
RUN ARCH=`dpkg --print-architecture` && \
    curl -fsSLo /tmp/app.deb "https://example.com/releases/app_1.2.3_${ARCH}.deb"

FROM debian:bookworm-slim
COPY --from=download /tmp/app.deb /tmp/app.deb
RUN dpkg -i /tmp/app.deb && rm /tmp/app.deb
