"""The kiosk page's and kiosk agent's routes in the API's OpenAPI document."""
from __future__ import annotations

from hall.api.openapi import ROUTES
from kiosk.api import KioskCheckIn, KioskIssue, PrintOutcome

ROUTES.extend([
    ("/halls/{hall}/kiosk", "get", "Kiosk start screen: services, open/closed, whether this kiosk is registered",
     None, None, ("200",)),
    ("/halls/{hall}/kiosk/tickets", "post", "Take a ticket at the kiosk: ticket, status link, QR and print outcome",
     KioskIssue, None, ("201", "200", "403")),
    ("/halls/{hall}/kiosk/check-in", "post", "Check in an appointment code at the kiosk", KioskCheckIn, None,
     ("201", "200")),
    ("/halls/{hall}/kiosk/tickets/{token}/print", "get", "Print job of a ticket", None, None, ("200",)),
    ("/kiosk/print-jobs", "get", "Print jobs waiting for the kiosk agent (header X-Device-Token)", None, None,
     ("200", "401")),
    ("/kiosk/print-jobs/{job_id}", "post", "The kiosk agent reports a print (header X-Device-Token)", PrintOutcome,
     None, ("200", "401")),
])
