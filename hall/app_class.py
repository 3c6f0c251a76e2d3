"""The Flask class of Hall's app."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response

#: Headers werkzeug rewrites for the WSGI server when a response carries them.
_REWRITTEN = frozenset({"location", "content-location"})


class HallResponse(Response):
    """A response handed to the WSGI server without werkzeug's copy of its headers when the copy
    would be the same list.

    Werkzeug copies every response's headers (`get_wsgi_headers`) to make a Location absolute,
    drop a Content-Length the status forbids or work one out, and checks every value again on the
    copy, although each was checked when it was set. A response with a status other than 1xx, 204
    and 304, its Content-Length set and no Location or Content-Location (every JSON answer of the
    API) comes out of that copy unchanged: its own headers are sent.
    """

    def get_wsgi_response(self, environ) -> tuple[Iterable[bytes], str, list[tuple[str, str]]]:
        if self._sent_as_it_is():
            return self.get_app_iter(environ), self.status, self.headers.to_wsgi_list()
        return super().get_wsgi_response(environ)

    def _sent_as_it_is(self) -> bool:
        status = self.status_code
        if status < 200 or status in (204, 304):
            return False
        length = False
        for name, _ in self.headers:
            name = name.lower()
            if name in _REWRITTEN:
                return False
            length = length or name == "content-length"
        return length


class HallFlask(Flask):
    """Flask, asking once per function whether it is a coroutine function.

    Flask asks it of every before-request, after-request and teardown hook and of the view on
    every request (`ensure_sync`, ten times for an issue), each time unwrapping the function
    with `inspect`. The answer does not change: it is kept for the functions the app registered.
    """

    response_class = HallResponse

    #: At most this many functions' answers are kept (the app's hooks, views and handlers).
    KEPT = 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync_callables: dict[Callable, Callable] = {}

    def ensure_sync(self, func: Callable) -> Callable:
        try:
            return self._sync_callables[func]
        except (KeyError, TypeError):  # not asked yet, or not hashable
            sync = super().ensure_sync(func)
        if len(self._sync_callables) < self.KEPT:
            try:
                self._sync_callables[func] = sync
            except TypeError:
                pass
        return sync
