"""The production HTTP server's settings (the Dockerfile's command, bench/api_create.py ``--server wsgi``).

Pages and the API are served by WSGI workers because a WSGI thread keeps its database
connection between requests (``DATABASE_CONN_MAX_AGE``): under ASGI Django opens one per
request, about half of a report's database CPU (bench/api_create.py). Websockets stay with
uvicorn (the ``ws`` service of docker-compose.yml); the proxy in front sends ``/ws/`` there.
"""

import os

bind = os.environ.get("WEB_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "8"))
# Clients (SOC tooling, the proxy) keep connections open between requests.
keepalive = 75
# Django reads the scheme (SECURE_PROXY_SSL_HEADER) and the client's address (TRUSTED_PROXIES) itself.
forwarded_allow_ips = ""
accesslog = "-"
