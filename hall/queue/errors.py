"""Errors of the queue engine; each carries the HTTP status the API answers with."""


class QueueError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: str, **details) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(QueueError):
    status = 404
    code = "not_found"


class Conflict(QueueError):
    """The action does not fit the current state (e.g. finishing a ticket never called)."""

    status = 409
    code = "conflict"


class ServiceClosed(QueueError):
    """The service takes no tickets now: outside its hours, over capacity or inactive."""

    status = 409
    code = "service_closed"
