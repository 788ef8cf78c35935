"""WSGI entry point: ``gunicorn wsgi:app``."""

from issuer import create_app

app = create_app()
