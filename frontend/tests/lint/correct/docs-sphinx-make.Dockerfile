# `make html` runs Sphinx (no compiler) on the build platform; the HTML is served by nginx.
FROM --platform=$BUILDPLATFORM python:3.12-slim AS docs
RUN apt-get update && apt-get install -y --no-install-recommends make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /docs
COPY docs/requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY docs/ .
RUN make html

FROM nginx:1.25-alpine
COPY --from=docs /docs/_build/html /usr/share/nginx/html
