"""WSGI entry point of the server processes: `gunicorn -k gevent hall.wsgi:app` (what `hall serve` runs)."""
from hall import create_app
from hall.extensions import socketio
from hall.greenlets import gevent_patched
from hall.housekeeping import start_housekeeping
from hall.pictures import start_reader
from hall.secret_key import require_strong_secret_key
from hall.server.live import bound_client_queues, served_front
from hall.server.websocket import write_frames_directly

app = create_app()
require_strong_secret_key(app)
start_housekeeping(app)
start_reader(app)
if gevent_patched():
    bound_client_queues(socketio)
    write_frames_directly(socketio)
app.wsgi_app = served_front(app.wsgi_app, socketio)
