# Parley in a container: the widget and console are built with Node, the wheel with Python, and
# only the installed wheel goes into the final image (no checkout, no compilers, no Node).
#   docker build -t parley .
#   docker run -p 8080:8080 -e DATABASE_URL=... -e REDIS_URL=... -e PARLEY_SECRET_KEY=... parley
# Without DATABASE_URL/REDIS_URL it starts the embedded PostgreSQL and Valkey (a demo, not a
# deployment: their data lives in the container). See docs/deploy.md.

# 1. The customer widget and the agent console, exactly as locked.
FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY widget/package.json widget/package-lock.json widget/
COPY agent_console/package.json agent_console/package-lock.json agent_console/
RUN cd widget && npm ci --no-audit --no-fund --loglevel=error \
 && cd ../agent_console && npm ci --no-audit --no-fund --loglevel=error
COPY widget widget
COPY agent_console agent_console
RUN cd widget && npm run --silent build && cd ../agent_console && npm run --silent build

# 2. The wheel: the server package with its migrations (server/sql links to sql/) and the
#    built assets inside.
FROM python:3.11-slim-bookworm AS wheel
WORKDIR /src
RUN pip install --no-cache-dir build
COPY pyproject.toml README.md ./
COPY sql sql
COPY server server
COPY --from=assets /src/server/static/widget server/static/widget
COPY --from=assets /src/server/static/console server/static/console
RUN python -m build --wheel --outdir /dist .

# 3. What runs: the installed wheel, as an unprivileged user.
FROM python:3.11-slim-bookworm
RUN useradd --system --create-home --home-dir /var/lib/parley --shell /usr/sbin/nologin parley
COPY --from=wheel /dist/ /tmp/dist/
RUN pip install --no-cache-dir /tmp/dist/*.whl && rm -rf /tmp/dist
USER parley
WORKDIR /var/lib/parley
ENV PARLEY_HOST=0.0.0.0 \
    PORT=8080 \
    PARLEY_DATA_DIR=/var/lib/parley/data \
    PYTHONUNBUFFERED=1
EXPOSE 8080
# Ready means PostgreSQL and Redis answer; the first start may import the demo help center.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('PORT', '8080'), timeout=2)"]
CMD ["parley", "serve"]
