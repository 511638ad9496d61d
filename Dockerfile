# One image for every zhifa service; the command picks the service.
FROM debian:12-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-venv python3-uno libreoffice-writer-nogui fonts-noto-cjk \
        fonts-arphic-ukai fonts-arphic-uming poppler-utils fontconfig make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . /app
RUN PYTHON=python3 ./deploy/setup.sh
ENV ZHIFA_DATA_DIR=/data
VOLUME /data
EXPOSE 8001 8002 8003
ENTRYPOINT ["/app/.venv/bin/zhifa"]
CMD ["serve", "generator", "--host", "0.0.0.0"]
