# Wheels for the target are downloaded on the build platform (pip download --platform)
# and installed in the target image without building anything.
FROM --platform=$BUILDPLATFORM python:3.12-slim AS wheels
ARG TARGETARCH
WORKDIR /wheels
COPY requirements.txt .
RUN case "$TARGETARCH" in \
      amd64) plat=manylinux2014_x86_64 ;; \
      arm64) plat=manylinux2014_aarch64 ;; \
      *) echo "unsupported: $TARGETARCH" >&2; exit 1 ;; \
    esac \
 && pip download --no-cache-dir --only-binary=:all: \
      --platform "$plat" --python-version 3.12 --implementation cp \
      -d /wheels -r requirements.txt

FROM python:3.12-slim
WORKDIR /app
COPY --from=wheels /wheels /tmp/wheels
RUN pip install --no-cache-dir --no-index --only-binary=:all: --find-links=/tmp/wheels /tmp/wheels/*.whl \
 && rm -rf /tmp/wheels
COPY app/ ./app/
USER nobody
CMD ["python", "-m", "app"]
