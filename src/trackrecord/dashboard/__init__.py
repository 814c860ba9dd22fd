"""The read-only web dashboard: pages, the JSON API under ``/api/v1``, ``/healthz`` and the
static export. FastAPI, uvicorn and Jinja2 are imported only when it runs."""
