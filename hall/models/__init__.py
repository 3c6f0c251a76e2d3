"""Tables of Hall (DESIGN §3), one module per aggregate."""
from hall.models.complaint import CASE_STATUSES, CLOSE_REASONS, ComplaintCase
from hall.models.counter import COUNTER_STATUSES, Counter, CounterService
from hall.models.device import DEVICE_KINDS, Alarm, Device, PrintJob
from hall.models.hall import Hall, Notice
from hall.models.line import HandlingTime, LineCount
from hall.models.service import Service, ServiceStage
from hall.models.report import (ReportCount, ReportDay, ReportDayFigure, ReportHistogram, ReportRating,
                                ReportRatingMark, ReportStage, ReportStageCount, ReportTicket)
from hall.models.staff import ROLES, ApiToken, Staff, StaffSession
from hall.models.ticket import (
    CHANNELS,
    OPEN_STATUSES,
    OUTCOMES,
    PRIORITIES,
    TICKET_STATUSES,
    Stage,
    Ticket,
    TicketEvent,
    TicketSequence,
)
from hall.models.visitor import Appointment, Feedback

__all__ = [
    "Alarm", "ApiToken", "Appointment", "CASE_STATUSES", "CHANNELS", "CLOSE_REASONS", "COUNTER_STATUSES",
    "ComplaintCase", "Counter", "CounterService",
    "DEVICE_KINDS", "Device", "Feedback", "Hall", "HandlingTime", "LineCount", "Notice", "OPEN_STATUSES", "OUTCOMES", "PRIORITIES",
    "PrintJob", "ROLES", "ReportCount", "ReportDay", "ReportDayFigure", "ReportHistogram", "ReportRating",
    "ReportRatingMark", "ReportStage", "ReportStageCount", "ReportTicket", "Service", "ServiceStage", "Staff",
    "StaffSession", "Stage", "TICKET_STATUSES",
    "Ticket", "TicketEvent", "TicketSequence",
]
