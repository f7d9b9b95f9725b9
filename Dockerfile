# contactbot: one image for the web process (`serve`) and the sender (`worker`). See docs/deploy.md.
# Build: docker build -t contactbot .   Run: docker run --env-file .env -p 3000:3000 contactbot

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# The exact dependency versions, each checked against its hash (requirements.lock; README: "Dependencies"),
# installed first so this layer is reused while only the code changes.
COPY requirements.lock ./
RUN python -m venv /opt/contactbot && /opt/contactbot/bin/pip install --require-hashes -r requirements.lock
# Only what the package needs: tests, benchmarks and local files stay out of the image.
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
RUN /opt/contactbot/bin/pip install --no-deps .

FROM python:3.11-slim
ENV PATH=/opt/contactbot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LOG_FORMAT=json \
    DATABASE_URL=sqlite:////app/data/contactbot.db
# A font with umlauts for the broadcast report's chart (bot/services/broadcasts/chart.py; without it the chart
# spells "zugestellt über" as "ueber").
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --user-group --home-dir /app --create-home --shell /usr/sbin/nologin contactbot \
    && mkdir /app/data && chown contactbot:contactbot /app/data
COPY --from=build /opt/contactbot /opt/contactbot
WORKDIR /app
# SQLite (when DATABASE_URL is not PostgreSQL) lives here: mount a volume to keep it.
VOLUME ["/app/data"]
USER contactbot:contactbot
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4).status != 200)"]
# `serve` drains work in flight on SIGTERM within CONTACTBOT_SHUTDOWN_GRACE_SECONDS (default 20 s);
# give `docker stop` more than that: docker stop -t 30 (compose.yaml sets stop_grace_period).
STOPSIGNAL SIGTERM
ENTRYPOINT ["contactbot"]
CMD ["serve"]
