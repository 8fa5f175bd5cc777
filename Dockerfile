# Latent Lab served by N Streamlit processes behind nginx (deploy/serve.py), with CPU-only torch.
#   docker build -t latent-lab .
#   docker run --rm -p 8501:8501 -e LATENT_LAB_PROCESSES=2 latent-lab     # then open http://localhost:8501
FROM python:3.11-slim

# nginx from Debian is the sticky reverse proxy; the launcher runs it with a config in a temp dir, so the
# package's own site and service are never used.
RUN apt-get update \
    && apt-get install -y --no-install-recommends nginx \
    && rm -rf /var/lib/apt/lists/*

# A non-root user: nginx listens on 8501 (no privileged port), and the app only writes to $HOME and /tmp.
RUN useradd --create-home --uid 10001 app
WORKDIR /app

# Dependencies first, so that a code change does not reinstall torch. The file pins torch's CPU build
# (2.13.0+cpu, via its --extra-index-url) and leaves out torchvision: the online datasets then say
# "unavailable" and the offline ones (mnist-5k, digits) work.
COPY requirements-cloud.txt .
RUN pip install --no-cache-dir -r requirements-cloud.txt

COPY .streamlit/ .streamlit/
COPY streamlit_app.py .
COPY pages/ pages/
COPY dashboard/ dashboard/
COPY models/ models/
COPY assets/ assets/
COPY deploy/ deploy/

USER app
ENV PYTHONUNBUFFERED=1 \
    LATENT_LAB_PROCESSES=2 \
    LATENT_LAB_PORT=8501 \
    LATENT_LAB_LISTEN=0.0.0.0
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:${LATENT_LAB_PORT}/_stcore/health', timeout=4)"
# The launcher is PID 1: it stops every Streamlit process and nginx on SIGTERM (docker stop), and exits when one dies.
ENTRYPOINT ["python", "deploy/serve.py"]
