"""Flask-Limiter as Hall uses it: limits sit on routes only (`@limiter.limit`), never app-wide."""
from __future__ import annotations

from flask import request
from flask_limiter import Limiter


class RouteLimiter(Limiter):
    """Skips the before-request check on routes that carry no limit.

    Flask-Limiter's before-request hook looks for default, application, blueprint and meta limits
    on every request (a quarter of a millisecond of CPU, as much as an issue's whole response).
    A route's own limit is checked when its decorated view runs, and a route that has run once is
    known by its endpoint, so with no limit outside routes the hook has nothing to find elsewhere.
    """

    def _check_request_limit(self, callable_name: str | None = None, in_middleware: bool = True) -> None:
        if in_middleware and self._only_route_limits() and not self.limit_manager.has_hints(request.endpoint or ""):
            return
        super()._check_request_limit(callable_name, in_middleware)

    def _only_route_limits(self) -> bool:
        manager = self.limit_manager
        return not (manager.application_limits or manager.default_limits or manager._blueprint_limits
                    or self._meta_limits or self._storage_dead)
