# A stage built FROM another inherits its ARGs and ENV; variables the script sets
# itself are not the ARG.
FROM alpine:3.20 AS base
ARG TARGETARCH
ENV TARGETOS=linux

FROM base AS conf
RUN echo "$TARGETOS/$TARGETARCH" > /target
RUN TARGETVARIANT=$(uname -m | cut -c6-); echo "variant: $TARGETVARIANT" > /variant
RUN for BUILDARCH in amd64 arm64; do echo "$BUILDARCH"; done > /archs
RUN echo '$TARGETPLATFORM is literal here' > /note && echo \$TARGETPLATFORM >> /note
COPY <<'EOF' /literal.txt
$TARGETPLATFORM stays as written in a quoted heredoc
EOF
RUN <<EOF
#!/usr/bin/env python3
import os
print(os.environ.get("TARGETPLATFORM", "") + "$TARGETPLATFORM")
EOF

FROM conf
CMD echo "running $TARGETOS"
