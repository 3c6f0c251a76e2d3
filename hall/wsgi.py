"""WSGI entry point of the server processes: `gunicorn -k gevent hall.wsgi:app` (what `hall serve` runs)."""
from hall import create_app
from hall.extensions import socketio
from hall.housekeeping import start_housekeeping
from hall.pictures import start_reader
from hall.secret_key import require_strong_secret_key
from hall.server.live import (LiveOrPlain, LiveSocketLimits, PollingAnswers, bound_client_queues, gevent_patched,
                              ping_cycle_s)
from hall.server.websocket import write_frames_directly

app = create_app()
require_strong_secret_key(app)
start_housekeeping(app)
start_reader(app)
socketio_middleware = live = app.wsgi_app
if gevent_patched():
    live = PollingAnswers(LiveSocketLimits(live, ping_cycle_s(socketio)))
    bound_client_queues(socketio)
    write_frames_directly(socketio)
app.wsgi_app = LiveOrPlain(live, socketio_middleware)
