"""The production server: gunicorn's gevent worker, one process per port (`hall serve`).

A live Socket.IO connection is a greenlet, not a thread, so one process holds thousands of
screens while the HTTP API keeps answering. gunicorn's gevent worker monkey-patches the
standard library before it imports `hall.wsgi`, so sockets, locks, threads and queues of the
app (and psycopg, which detects the patching) yield to the event loop instead of blocking it.
"""
