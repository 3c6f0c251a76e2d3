"""The demo hall "demo": three services, six counters, staff with printed passwords."""
from __future__ import annotations

import os
import secrets
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from hall.extensions import db
from hall.models import Counter, Device, Hall, Notice, Service, Staff
from hall.sim.layout import CounterLayout, Layout, ServiceLayout, StageLayout, build_hall
from hall.sim.plan import profile_plans
from hall.sim.profile import load_profile

DECLARATION_FLOW = [("accept", "受理", "Accept", 600), ("inspect", "施检", "Inspect", 1200),
                    ("review", "审核", "Review", 600), ("certificate", "出证", "Certificate", 300)]

SERVICES = [
    ("A", "业务咨询", "Consultation", 900, [("consult", "咨询", "Consultation", 600)], []),
    ("B", "报检申报", "Declaration", 1200, DECLARATION_FLOW,
     ["报检单 Declaration form", "合同 Contract", "发票 Invoice", "装箱单 Packing list"]),
    ("C", "原产地证", "Certificate of origin", 900, [("certificate", "出证", "Certificate", 600)],
     ["原产地证申请书 Application", "商业发票 Commercial invoice"]),
]

# counter number → [(service prefix, stages or None for all)]
COUNTERS = {
    1: [("A", None)],
    2: [("A", None), ("C", None)],
    3: [("B", ["accept"])],
    4: [("B", ["accept", "review"])],
    5: [("B", ["inspect", "review"])],
    6: [("C", None), ("B", ["certificate"])],
}

DEMO_LAYOUT = Layout(
    services=tuple(ServiceLayout(prefix, zh, en, wait_limit, tuple(StageLayout(*stage) for stage in flow),
                                 tuple(checklist))
                   for prefix, zh, en, wait_limit, flow, checklist in SERVICES),
    counters=tuple(CounterLayout(number, tuple((p, tuple(stages) if stages else None) for p, stages in links))
                   for number, links in COUNTERS.items()))

#: The profile whose plan of the counters' day (hours, staggered breaks) the demo counters keep as their
#: schedule; the shipped profiles, which the demo's past days are simulated with, all plan the same day.
PLANNED_LIKE = "peak"

# Certificates of origin draw scalpers (号贩子): real-name tickets, two per person and day.
REAL_NAME = {"C": {"real_name": "required", "daily_limit_per_person": 2}}

STAFF = [("admin", "管理员", "admin", "系统管理员"), ("supervisor", "值班主任", "supervisor", "大厅主任")] + [
    (f"staff{n}", f"窗口{n}工作人员", "staff", "窗口受理员") for n in range(1, 7)]


def create_demo_hall(slug: str = "demo", planned: bool = False) -> dict[str, str]:
    """Create the demo hall; returns login → password (shown once). Refuses an existing slug.
    `planned`: its counters have their planned hours and breaks, as a supervisor enters them."""
    if db.session.scalar(select(Hall).where(Hall.slug == slug)):
        raise ValueError(f"hall {slug!r} already exists")
    hall = Hall(slug=slug, name_zh="出入境检验检疫综合服务大厅", name_en="Inspection and Quarantine Service Hall",
                complaint_phone="12345")
    db.session.add(hall)
    db.session.flush()
    build_hall(hall, DEMO_LAYOUT, profile_plans(DEMO_LAYOUT, load_profile(PLANNED_LIKE).schedule) if planned else None)
    for service in db.session.scalars(select(Service).where(Service.hall_id == hall.id,
                                                            Service.prefix.in_(REAL_NAME))):
        for name, value in REAL_NAME[service.prefix].items():
            setattr(service, name, value)
    for counter in db.session.scalars(select(Counter).where(Counter.hall_id == hall.id).order_by(Counter.number)):
        db.session.add(Device(hall_id=hall.id, kind="rating_pad", name=f"Rating pad {counter.number}",
                              counter_id=counter.id, token=secrets.token_urlsafe(24)))
    staff = [Staff(hall_id=hall.id, login=login if slug == "demo" else f"{slug}-{login}", name=name, role=role,
                   position=position, staff_no=f"{number:04d}")
             for number, (login, name, role, position) in enumerate(STAFF, start=1)]
    passwords = {member.login: secrets.token_urlsafe(9) for member in staff}
    # A password hash takes ~0.3 s of CPU by design; argon2 lets go of the interpreter meanwhile.
    with ThreadPoolExecutor(max_workers=os.cpu_count()) as hashing:
        list(hashing.map(lambda member: member.set_password(passwords[member.login]), staff))
    db.session.add_all(staff)
    db.session.add_all([
        Notice(hall_id=hall.id, text_zh="一次性告知：办理所需材料请见服务指南", text_en="All required materials are listed in the service guide",
               sort_order=0),
        Notice(hall_id=hall.id, text_zh="24小时网上预约，预约客户优先办理", text_en="Book online 24 hours a day: appointments are served first",
               sort_order=1),
        Device(hall_id=hall.id, kind="kiosk", name="Kiosk 1", token=secrets.token_urlsafe(24)),
        Device(hall_id=hall.id, kind="display", name="Lobby TV", token=secrets.token_urlsafe(24)),
    ])
    db.session.commit()
    return passwords
