# One image for every shardfetch process: workers, Flower, the producer and the simulator.
FROM python:3.12-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 DATA_DIR=/data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY storage ./storage
COPY workers ./workers
COPY producer ./producer
COPY simulator ./simulator
RUN pip install . && useradd --create-home shardfetch && mkdir -p /data \
    && chown shardfetch /data
USER shardfetch
VOLUME /data
