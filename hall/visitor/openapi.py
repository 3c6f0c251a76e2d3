"""The visitor routes in the API's OpenAPI document."""
from __future__ import annotations

from hall.api.openapi import ROUTES
from hall.visitor.schemas import Booking, NotifyContact, PadRating, Rating

ROUTES.extend([
    ("/halls/{hall}/appointments/slots", "get", "Bookable slots of ?service= on ?day= (YYYY-MM-DD)", None, None,
     ("200",)),
    ("/halls/{hall}/appointments", "post", "Book an appointment (errors: slot_full, past_slot, closed_day, "
     "unknown_service, not_a_slot, already_booked)", Booking, None, ("201", "429")),
    ("/halls/{hall}/appointments", "get", "Appointments of ?day= for staff", None, "staff", ("200",)),
    ("/appointments/{code}", "get", "An appointment by its code", None, None, ("200", "429")),
    ("/appointments/{code}", "delete", "Cancel an appointment by its code", None, None, ("200", "429")),
    ("/tickets/{token}/cancel", "post", "The visitor cancels their waiting ticket", None, None, ("200",)),
    ("/tickets/{token}/notify", "post", "The visitor leaves a phone number to be told when their turn is near "
     "(errors: not_waiting)", NotifyContact, None, ("200",)),
    ("/tickets/{token}/notify", "delete", "The visitor takes their phone number back", None, None, ("204",)),
    ("/tickets/{token}/feedback", "post", "Rate a done ticket once from the phone", Rating, None, ("201",)),
    ("/halls/{hall}/counters/{number}/feedback", "post",
     "Rate the ticket just finished at a counter, from its rating pad (header X-Device-Token)", PadRating, None,
     ("201", "403")),
])
