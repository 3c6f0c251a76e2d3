"""The queue engine: plain functions, one transaction and one published event each."""
from hall.queue.calls import call_next, call_ticket, finish, no_show, recall, reinstate, start, transfer
from hall.queue.counters import close_counter, open_counter, pause_counter, release_counter
from hall.queue.day import close_business_day
from hall.queue.errors import Conflict, NotFound, QueueError, ServiceClosed
from hall.queue.tickets import cancel_ticket, issue_ticket
from hall.queue.unit import sole_writer, subscribe

__all__ = [
    "Conflict", "NotFound", "QueueError", "ServiceClosed", "call_next", "call_ticket", "cancel_ticket",
    "close_business_day", "close_counter", "finish", "issue_ticket", "no_show", "open_counter", "pause_counter",
    "recall", "reinstate", "release_counter", "sole_writer", "start", "subscribe", "transfer",
]
