"""Whether this process runs under gevent: asked by the server package and the database layer alike."""
from __future__ import annotations


def gevent_patched() -> bool:
    """True in a server process whose standard library gevent has patched (gunicorn's gevent worker)."""
    try:
        from gevent import monkey
    except ImportError:
        return False
    return monkey.is_module_patched("socket")
