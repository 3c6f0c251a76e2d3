"""gunicorn settings of a Hall server process (`hall serve` passes this file with -c).

Loaded by path in gunicorn's master, before the worker patches the standard library: it
imports nothing of Hall at module level.
"""
worker_class = "gevent"
workers = 1
# Seconds a request still running after SIGTERM may take; live connections are dropped at once.
graceful_timeout = 3
timeout = 30
control_socket_disable = True


def post_worker_init(worker) -> None:
    """The app is loaded in the worker: SIGTERM now also drops every live connection, long-polling
    screens' polls are answered straight from their connections, and the oldest objects are
    collected on a schedule rather than in the middle of requests."""
    from hall.server.collector import collect_old_objects_on_schedule
    from hall.server.live import drop_live_connections_on_term
    from hall.server.long_polls import answer_long_polls_directly

    drop_live_connections_on_term(worker)
    answer_long_polls_directly(worker)
    collect_old_objects_on_schedule()


#: Seconds a stopping worker waits for its last events to reach Redis (the other processes' screens).
DRAIN_S = 1.0


def worker_exit(_server, worker) -> None:
    """A worker that served sends the other processes the events it still holds, then ends without
    tearing the interpreter down object by object (seconds on a busy machine): the database and the
    clients have nothing left to flush."""
    import os
    import sys

    from hall.extensions import socketio

    if worker.booted:
        if drain := getattr(getattr(socketio.server, "manager", None), "drain", None):  # Redis between processes
            drain(DRAIN_S)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
