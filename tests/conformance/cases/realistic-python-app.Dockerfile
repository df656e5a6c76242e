FROM python:3.12-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=off
LABEL org.opencontainers.image.source="https://example.com/app" \
      org.opencontainers.image.licenses="MIT"

FROM base AS deps
WORKDIR /app
COPY requirements.txt .
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install -r requirements.txt

FROM deps AS final
COPY --chown=app:app . .
RUN <<EOF
useradd --create-home app
python -m compileall -q /app
EOF
USER app
STOPSIGNAL SIGINT
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://localhost:8000/health')"
CMD ["gunicorn", "-b", "0.0.0.0:8000", "app:wsgi"]
