FROM alpine:3.20 AS conf
RUN <<EOF
set -eu
mkdir -p /etc/app
echo "arch=$TARGETARCH" > /etc/app/arch
sh -c 'echo "variant=${TARGETVARIANT}" >> /etc/app/arch'
EOF
COPY <<EOF /etc/app/build.conf
built_on=$BUILDPLATFORM
EOF

FROM alpine:3.20
ARG TARGETARCH
COPY --from=conf /etc/app /etc/app
# ARG values do not reach the running container: only ENV does.
CMD exec /usr/local/bin/app-$TARGETARCH --config /etc/app/build.conf
