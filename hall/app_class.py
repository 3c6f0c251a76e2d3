"""The Flask class of Hall's app."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask


class HallFlask(Flask):
    """Flask, asking once per function whether it is a coroutine function.

    Flask asks it of every before-request, after-request and teardown hook and of the view on
    every request (`ensure_sync`, ten times for an issue), each time unwrapping the function
    with `inspect`. The answer does not change: it is kept for the functions the app registered.
    """

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
