"""WSGI entry point for gunicorn: `gunicorn hall.wsgi:app`."""
from hall import create_app

app = create_app()
