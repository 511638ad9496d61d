# One image for every zhifa service; the command picks the service (docker-compose.yml).
# Runtime only: LibreOffice (writer, no GUI) with Debian's python3-uno for the PDF workers, the CJK
# fonts the documents are set in, fontconfig (font aliases) and openssl (the SM2/SM3 seal). No
# chromium, no poppler, no test tools: they serve the tests only.
FROM debian:12-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-venv python3-uno libreoffice-writer-nogui \
        fonts-noto-cjk fonts-arphic-ukai fonts-arphic-uming fonts-babelstone-han fontconfig \
        openssl ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml /app/
COPY shared /app/shared
COPY services /app/services
# Installed, not run from the source: the migrations and templates come as package data.
RUN python3 -m venv /app/.venv \
    && /app/.venv/bin/pip install --no-cache-dir /app \
    && rm -rf /app/shared /app/services /app/build /app/pyproject.toml
ENV ZHIFA_DATA_DIR=/data \
    ZHIFA_FONTS_DIR=/app/fonts \
    ZHIFA_UNO_PYTHON=/usr/bin/python3 \
    PATH=/app/.venv/bin:$PATH
COPY deploy/docker-entrypoint.sh /usr/local/bin/zhifa-entrypoint
# Chinese font aliases and single-face font files, made once at build time; then a user of its own.
RUN zhifa fonts && useradd --system --home-dir /data --uid 10001 zhifa \
    && mkdir -p /data && chown -R zhifa /data /app/fonts
USER zhifa
VOLUME /data
EXPOSE 8001 8002 8003
ENTRYPOINT ["/usr/local/bin/zhifa-entrypoint"]
CMD ["serve", "generator", "--host", "0.0.0.0"]
