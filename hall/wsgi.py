"""WSGI entry point for gunicorn: `gunicorn hall.wsgi:app`."""
from hall import create_app
from hall.housekeeping import start_housekeeping

app = create_app()
start_housekeeping(app)
