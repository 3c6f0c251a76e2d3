"""WSGI entry point for gunicorn: `gunicorn hall.wsgi:app`."""
from hall import create_app
from hall.housekeeping import start_housekeeping
from hall.secret_key import require_strong_secret_key

app = create_app()
require_strong_secret_key(app)
start_housekeeping(app)
