"""WSGI entry point for gunicorn: `gunicorn hall.wsgi:app`."""
from hall import create_app
from hall.alarms import start_scanner

app = create_app()
start_scanner(app)
