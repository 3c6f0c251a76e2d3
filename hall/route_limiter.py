"""Flask-Limiter as Hall uses it: limits sit on routes only (`@limiter.limit`), never app-wide."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, request
from flask.globals import request_ctx
from flask_limiter import Limiter

#: Where Flask-Limiter keeps a request's limits: set once a limit of the request was looked at.
_REQUEST_LIMITS = "_limiter_request_context"


class RouteLimiter(Limiter):
    """Skips the before-request check on routes that carry no limit, and the after-request and
    teardown hooks of requests whose limits nobody looked at.

    Flask-Limiter's before-request hook looks for default, application, blueprint and meta limits
    on every request (a quarter of a millisecond of CPU, as much as an issue's whole response).
    A route's own limit is checked when its decorated view runs, and a route that has run once is
    known by its endpoint, so with no limit outside routes the hook has nothing to find elsewhere.
    Its after-request hook (rate-limit headers, deductions on the response) and teardown (forgetting
    the request's limits) then have nothing to do either, but would set up the request's limits to
    find that out (a fiftieth of an issue's CPU).
    """

    def init_app(self, app: Flask) -> None:
        super().init_app(app)
        for hooks in (app.after_request_funcs.get(None, []), app.teardown_request_funcs.get(None, [])):
            hooks[:] = [_when_limits_looked_at(hook) if self._registered(hook) else hook for hook in hooks]

    def _registered(self, hook: Callable) -> bool:
        """Whether `hook` is one of the per-request hooks `Limiter.init_app` registered for this limiter."""
        return getattr(hook, "args", None) == (self,) or getattr(hook, "__self__", None) is self

    def _check_request_limit(self, callable_name: str | None = None, in_middleware: bool = True) -> None:
        if in_middleware and self._only_route_limits() and not self.limit_manager.has_hints(request.endpoint or ""):
            return
        super()._check_request_limit(callable_name, in_middleware)

    def _only_route_limits(self) -> bool:
        manager = self.limit_manager
        return not (manager.application_limits or manager.default_limits or manager._blueprint_limits
                    or self._meta_limits or self._storage_dead)


def _when_limits_looked_at(hook: Callable[[Any], Any]) -> Callable[[Any], Any]:
    @wraps(hook)
    def guarded(argument: Any) -> Any:
        if not hasattr(request_ctx._get_current_object(), _REQUEST_LIMITS):
            return argument  # the response as it is (after request); nothing (teardown)
        return hook(argument)
    return guarded
