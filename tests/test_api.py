"""REST API /api/v1: every route, its answers and its refusals (always JSON 4xx, never 500)."""
from __future__ import annotations

import pytest

from hall import queue
from tests.resident_ids import issue_args


@pytest.fixture
def client(app, demo):
    return app.test_client()


@pytest.fixture
def staff1(demo):
    return {"Authorization": f"Bearer {demo.token('staff1')}"}


@pytest.fixture
def supervisor(demo):
    return {"Authorization": f"Bearer {demo.token('supervisor')}"}


def post(client, url, json=None, headers=None, **kw):
    return client.post(url, json=json, headers=headers or {}, **kw)


def assert_error(response, status, fragment=""):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body and "error" in body and "message" in body
    assert fragment.lower() in body["message"].lower()
    return body


def test_services_lists_active_services_with_estimates(client):
    body = client.get("/api/v1/halls/demo/services").get_json()
    assert [s["prefix"] for s in body["services"]] == ["A", "B", "C"]
    b = body["services"][1]
    assert b["open"] is True and b["waiting"] == 0 and [s["code"] for s in b["stages"]][:2] == ["accept", "inspect"]


def test_issue_ticket_answers_the_contract_fields(client, demo):
    response = post(client, "/api/v1/halls/demo/tickets", {"service": "A"})
    assert response.status_code == 201
    body = response.get_json()
    for field in ("id", "number", "token", "service", "status", "people_ahead", "estimated_wait_s", "issued_at"):
        assert field in body
    assert body["number"] == "A001" and body["service"] == "A" and body["status"] == "waiting"
    staff = {"Authorization": f"Bearer {demo.token('staff1')}"}
    second = post(client, "/api/v1/halls/demo/tickets", {"service": "a", "priority": "vip", "channel": "staff"},
                  staff)
    assert second.get_json()["people_ahead"] == 0  # a VIP's head start puts it first
    assert_error(post(client, "/api/v1/halls/demo/tickets", {"service": "A", "priority": "vip"}), 403, "staff")


def test_issue_is_idempotent_per_key(client):
    first = post(client, "/api/v1/halls/demo/tickets", {"service": "A", "idempotency_key": "kiosk1-tap-0001"})
    again = post(client, "/api/v1/halls/demo/tickets", {"service": "A", "idempotency_key": "kiosk1-tap-0001"})
    assert first.status_code == 201 and again.status_code == 200
    assert first.get_json()["number"] == again.get_json()["number"]


@pytest.mark.parametrize("payload, status, fragment", [
    ({}, 422, "service"),
    ({"service": 7}, 422, "service"),
    ({"service": "Z"}, 404, "unknown service"),
    ({"service": "A", "priority": "royal"}, 422, "priority"),
    ({"service": "A", "channel": "fax"}, 422, "channel"),
    ({"service": "A", "extra": 1}, 422, "extra"),
    ({"service": "A", "channel": "staff"}, 401, "staff"),
])
def test_issue_bad_input(client, payload, status, fragment):
    assert_error(post(client, "/api/v1/halls/demo/tickets", payload), status, fragment)


def test_issue_unknown_hall_and_non_json(client):
    assert_error(post(client, "/api/v1/halls/nowhere/tickets", {"service": "A"}), 404, "unknown hall")
    assert_error(client.post("/api/v1/halls/demo/tickets", data="service=A",
                             content_type="application/x-www-form-urlencoded"), 415, "json")
    assert_error(client.post("/api/v1/halls/demo/tickets", data="{not json",
                             content_type="application/json"), 400, "not valid json")
    assert_error(client.post("/api/v1/halls/demo/tickets", json=["A"]), 400, "object")


def test_registered_kiosk_required(client, demo):
    from hall.extensions import db
    from hall.models import Device

    demo.hall.require_registered_kiosk = True
    db.session.commit()
    assert_error(post(client, "/api/v1/halls/demo/tickets", {"service": "A"}), 403, "registered kiosks")
    token = db.session.query(Device).filter_by(kind="kiosk").one().token
    assert post(client, "/api/v1/halls/demo/tickets", {"service": "A"}, {"X-Device-Token": token}).status_code == 201


def test_ticket_status_by_token_hides_the_internal_id(client):
    issued = post(client, "/api/v1/halls/demo/tickets", {"service": "B"}).get_json()
    body = client.get(f"/api/v1/tickets/{issued['token']}").get_json()
    assert body["number"] == issued["number"] and "id" not in body
    assert body["stage"]["code"] == "accept"
    assert_error(client.get("/api/v1/tickets/not-a-token"), 404, "unknown ticket")


def test_queue_lists_waiting_tickets_per_service(client):
    for service in ("A", "A", "C"):
        post(client, "/api/v1/halls/demo/tickets", {"service": service, **issue_args(service)})
    body = client.get("/api/v1/halls/demo/queue").get_json()
    assert body["waiting"] == 3
    lines = {line["service"]: line for line in body["services"]}
    assert lines["A"]["waiting"] == 2 and [t["number"] for t in lines["A"]["tickets"]] == ["A001", "A002"]
    assert lines["B"]["waiting"] == 0


def test_counter_day_through_the_api(client, staff1):
    base = "/api/v1/halls/demo/counters/1"
    assert post(client, f"{base}/open", headers=staff1).get_json()["status"] == "open"
    assert post(client, f"{base}/call-next", headers=staff1).status_code == 204
    post(client, "/api/v1/halls/demo/tickets", {"service": "A"})
    called = post(client, f"{base}/call-next", headers=staff1)
    assert called.status_code == 200 and called.get_json()["number"] == "A001"
    assert called.get_json()["status"] == "called" and called.get_json()["counter"] == 1
    assert post(client, f"{base}/recall", headers=staff1).get_json()["recall_count"] == 1
    assert post(client, f"{base}/start", headers=staff1).get_json()["status"] == "serving"
    finished = post(client, f"{base}/finish", {"outcome": "incomplete",
                                              "missing": {"items": ["发票"], "note": "原件"}}, staff1)
    assert finished.get_json()["outcome"] == "incomplete"
    assert finished.get_json()["notice"] == {"items": ["发票"], "note": "原件"}
    post(client, "/api/v1/halls/demo/tickets", {"service": "A"})
    post(client, f"{base}/call-next", headers=staff1)
    assert post(client, f"{base}/no-show", headers=staff1).get_json()["status"] == "no_show"
    reinstated = post(client, "/api/v1/halls/demo/tickets/A002/reinstate", headers=staff1)
    assert reinstated.get_json()["status"] == "waiting"
    post(client, f"{base}/call", {"number": "A002"}, staff1)
    moved = post(client, f"{base}/transfer", {"service": "C", "note": "origin"}, staff1)
    assert moved.get_json()["service"] == "C" and moved.get_json()["status"] == "waiting"
    assert post(client, f"{base}/pause", headers=staff1).get_json()["status"] == "paused"
    assert post(client, f"{base}/close", headers=staff1).get_json()["status"] == "closed"


def test_wrong_state_is_a_clear_409(client, staff1):
    base = "/api/v1/halls/demo/counters/1"
    post(client, f"{base}/open", headers=staff1)
    assert_error(post(client, f"{base}/finish", headers=staff1), 409, "no current ticket")
    assert_error(post(client, f"{base}/recall", headers=staff1), 409, "no current ticket")
    post(client, "/api/v1/halls/demo/tickets", {"service": "A"})
    post(client, f"{base}/call-next", headers=staff1)
    body = assert_error(post(client, f"{base}/call-next", headers=staff1), 409, "already called")
    assert body["ticket"]["number"] == "A001"
    assert_error(post(client, f"{base}/transfer", {"stage": "nope"}, staff1), 404, "no stage")
    assert_error(post(client, f"{base}/transfer", {}, staff1), 400, "name a service")
    assert_error(post(client, f"{base}/transfer", {"counter": "x"}, staff1), 422, "counter")
    assert_error(post(client, f"{base}/finish", {"outcome": "maybe"}, staff1), 422, "outcome")
    assert_error(post(client, f"{base}/call", {}, staff1), 422, "number")


def test_counter_routes_refuse_anonymous_wrong_counter_and_unknown(client, demo, staff1):
    base = "/api/v1/halls/demo/counters/1"
    assert_error(post(client, f"{base}/call-next"), 401)
    assert_error(post(client, f"{base}/call-next", headers={"Authorization": "Bearer nope"}), 401)
    assert_error(post(client, "/api/v1/halls/demo/counters/99/open", headers=staff1), 404, "unknown counter")
    assert_error(post(client, "/api/v1/halls/demo/counters/x/open", headers=staff1), 404)
    post(client, f"{base}/open", headers=staff1)
    staff2 = {"Authorization": f"Bearer {demo.token('staff2')}"}
    assert_error(post(client, f"{base}/call-next", headers=staff2), 403, "another staff member")
    unfinished = {"outcome": "incomplete", "missing": None}  # the counter is refused before the body is judged
    assert_error(post(client, "/api/v1/halls/demo/counters/99/finish", unfinished, staff1), 404, "unknown counter")
    assert_error(post(client, f"{base}/finish", unfinished, staff2), 403, "another staff member")
    assert_error(post(client, "/api/v1/halls/demo/counters/99/transfer", {}, staff1), 404, "unknown counter")
    supervisor = {"Authorization": f"Bearer {demo.token('supervisor')}"}
    assert post(client, f"{base}/pause", headers=supervisor).status_code == 200


def test_staff_of_another_hall_is_refused(app, client, demo):
    from hall.demo import create_demo_hall

    create_demo_hall("other")
    outsider = {"Authorization": f"Bearer {demo.token('other-staff1')}"}
    assert_error(post(client, "/api/v1/halls/demo/counters/1/open", headers=outsider), 403, "another hall")


def test_session_cookie_calls_need_csrf(app, client, demo):
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert client.post("/login", data={"login": "staff1", "password": demo.passwords["staff1"],
                                       "csrf_token": token}).status_code == 302
    assert_error(client.post("/api/v1/halls/demo/counters/1/open"), 400, "csrf")
    assert client.post("/api/v1/halls/demo/counters/1/open", headers={"X-CSRFToken": token}).status_code == 200


def test_stats_summary(client, demo, staff1, supervisor, frozen):
    queue.open_counter(demo.id, 1)
    post(client, "/api/v1/halls/demo/tickets", {"service": "A"})
    frozen.advance(minutes=3)
    queue.call_next(demo.id, 1)
    queue.start(demo.id, 1)
    frozen.advance(minutes=5)
    queue.finish(demo.id, 1)
    body = client.get("/api/v1/halls/demo/stats/summary?from=2026-03-02&to=2026-03-02", headers=supervisor)
    assert body.status_code == 200
    data = body.get_json()
    assert data["issued"] == 1 and data["served"] == 1 and data["no_show"] == 0
    assert data["wait_s"]["avg"] == 180 and data["wait_s"]["p90"] == 180 and data["wait_s"]["max"] == 180
    assert data["handling_s"]["consult"]["avg"] == 300
    assert data["served_within_target_pct"] == 100.0
    assert_error(client.get("/api/v1/halls/demo/stats/summary", headers=staff1), 403, "supervisor")
    assert_error(client.get("/api/v1/halls/demo/stats/summary?from=2026-13-01", headers=supervisor), 400, "date")
    assert_error(client.get("/api/v1/halls/demo/stats/summary?from=2026-03-02&to=2026-03-01",
                            headers=supervisor), 400, "before")


def test_unknown_api_route_and_method_are_json(client):
    assert_error(client.get("/api/v1/nothing-here"), 404)
    assert_error(client.delete("/api/v1/halls/demo/services"), 405)


def test_openapi_document_lists_every_route(client, app):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    documented = {f"/api/v1{path}".replace("{", "<").replace("}", ">") for path in doc["paths"]}
    served = {rule.rule.replace("<int:", "<") for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/api/v1/") and rule.rule != "/api/v1/openapi.json"}
    assert served <= documented, served - documented


def test_bearer_calls_set_no_session_cookie(client, staff1):
    response = post(client, "/api/v1/halls/demo/counters/1/open", headers=staff1)
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
    assert_error(post(client, "/api/v1/halls/demo/counters/1/pause"), 401)


def test_an_issue_answers_the_bytes_and_headers_flasks_own_encoding_gives(app, client):
    """The issue route writes its answer with ujson (`plain_json`): same body, byte for byte, and same
    headers as `jsonify` of the same view (Chinese names escaped, keys sorted, compact)."""
    from flask import jsonify

    for service in ("A", "C"):  # C: real-name, the answer carries the masked ID number
        response = post(client, "/api/v1/halls/demo/tickets", json={"service": service, **issue_args(service)})
        assert response.status_code == 201
        with app.test_request_context():
            expected = jsonify(response.get_json())
        assert response.data == expected.data
        assert "\\u" in response.get_data(as_text=True)  # the service's Chinese name, escaped as Flask does
    clock = client.get("/api/v1/halls/demo/clock")  # an answer of the same blueprint through jsonify
    assert [(k, v) for k, v in response.headers if k != "Content-Length"] == \
        [(k, v) for k, v in clock.headers if k != "Content-Length"]
    assert response.headers["Content-Length"] == str(len(response.data))


def test_plain_json_writes_what_jsonify_writes(app):
    from flask import jsonify

    from hall.api import plain_json

    view = {"text": 'quote " backslash \\ slash / </script> tab \t nl \n \x00 \x1f \u2028 \ud83d\ude00 号',
            "numbers": [0, -1, 2 ** 63, 10 ** 30], "flags": [True, False, None], "z": {"b": [], "a": {}},
            "中文": "名字", "": ""}
    with app.test_request_context():
        answer, status = plain_json(view, 201)
        assert status == 201 and answer.data == jsonify(view).data
        assert answer.mimetype == "application/json"
        app.debug = True  # not compact: Flask indents, and so does the answer
        try:
            assert plain_json(view, 200)[0].data == jsonify(view).data
        finally:
            app.debug = False
