# One image for every zhifa service; the command picks the service.
# Runtime only: no test tools (the [test] extra) and no source checkout.
FROM debian:12-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-venv python3-uno libreoffice-writer-nogui fonts-noto-cjk \
        fonts-arphic-ukai fonts-arphic-uming fonts-babelstone-han poppler-utils fontconfig \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml /app/
COPY shared /app/shared
COPY services /app/services
RUN python3 -m venv /app/.venv \
    && /app/.venv/bin/pip install --no-cache-dir /app \
    && rm -rf /app/shared /app/services /app/build
ENV ZHIFA_DATA_DIR=/data \
    ZHIFA_FONTS_DIR=/app/fonts \
    ZHIFA_UNO_PYTHON=/usr/bin/python3 \
    PATH=/app/.venv/bin:$PATH
# Chinese font aliases and single-face font files, made once at build time.
RUN zhifa fonts && useradd --system --home-dir /data --uid 10001 zhifa \
    && mkdir -p /data && chown -R zhifa /data /app/fonts
USER zhifa
VOLUME /data
EXPOSE 8001 8002 8003
ENTRYPOINT ["/app/.venv/bin/zhifa"]
CMD ["serve", "generator", "--host", "0.0.0.0"]
