# Scoring sandbox image: Python with the libraries a submitted law may use.
# Build: docker build -f docker/scoring.Dockerfile -t sldbench-scoring docker/
FROM python:3.12-slim
RUN pip install --no-cache-dir numpy scipy pandas \
    && useradd --create-home --uid 1000 sld
USER sld
WORKDIR /home/sld/work
