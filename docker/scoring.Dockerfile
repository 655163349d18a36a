# Scoring sandbox image: Python with the libraries a submitted law may use.
# Build: docker/build.sh scoring --registry   (or: docker build -f docker/scoring.Dockerfile -t sldbench-scoring docker/)
# Without an image registry, docker/build.sh scoring --debian makes the same image from Debian packages.
FROM python:3.12-slim
RUN pip install --no-cache-dir numpy scipy pandas \
    && useradd --create-home --uid 1000 sld \
    && mkdir -p /home/sld/work && chown sld:sld /home/sld/work
USER sld
WORKDIR /home/sld/work
