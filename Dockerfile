FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
# A Unicode font for PDFs in every EU language (Greek, Cyrillic): awareness/pdf_fonts.py finds it.
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core && rm -rf /var/lib/apt/lists/*

COPY pyproject.toml README.md ./
COPY csoa_portal ./csoa_portal
COPY liaison ./liaison
COPY incidents ./incidents
COPY reserve ./reserve
COPY awareness ./awareness
RUN pip install .
COPY manage.py ./
COPY templates ./templates
COPY static ./static

RUN useradd --system --home /app portal && mkdir -p /app/var && chown -R portal /app/var
USER portal
EXPOSE 8000
# Pages and the API: WSGI workers that keep their database connections (csoa_portal/gunicorn_conf.py).
# The websockets are served by the same image running uvicorn (docker-compose.yml's ws service):
#   uvicorn csoa_portal.asgi:application --host 0.0.0.0 --port 8000 --workers 2 --no-proxy-headers
#           --ws-max-size 4096 --ws-per-message-deflate false
CMD ["gunicorn", "csoa_portal.wsgi:application", "-c", "python:csoa_portal.gunicorn_conf"]
