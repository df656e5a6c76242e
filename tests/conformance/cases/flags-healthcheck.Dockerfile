FROM nginx
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --start-interval=1s --retries=3 CMD curl -f http://localhost/ || exit 1
HEALTHCHECK --interval=1m CMD ["curl", "-f", "http://localhost/"]
