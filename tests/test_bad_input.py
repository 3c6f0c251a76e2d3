"""Bad input found by fuzzing answers 4xx (JSON on the API, a page with the error elsewhere), never 500."""
from __future__ import annotations

import json

import pytest

from hall.api.openapi import document
from tests.supervisor_support import sign_in
from tests.test_admin import form

DEEP = 30_000  # 60 KB: under the body limit, far past Python's recursion limit


@pytest.fixture
def client(app, demo):
    return app.test_client()


@pytest.fixture
def admin_token(demo):
    return {"Authorization": f"Bearer {demo.token('admin')}"}


def assert_json_error(response, status):
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert {"error", "message"} <= set(response.get_json())


def test_deeply_nested_json_is_a_400(client):
    issue_example = "[" * 100_000 + "]" * 100_000
    assert_json_error(client.post("/api/v1/halls/demo/tickets", data=issue_example, content_type="application/json"),
                      413)
    body = "[" * DEEP + "]" * DEEP
    for url in ("/api/v1/halls/demo/tickets", "/api/v1/halls/demo/kiosk/tickets"):
        assert_json_error(client.post(url, data=body, content_type="application/json"), 400)
    nested = '{"service": ' + "[" * 5000 + "]" * 5000 + "}"
    assert client.post("/api/v1/halls/demo/tickets", data=nested, content_type="application/json").status_code \
        in (400, 422)


def test_large_body_is_a_413_json(client):
    big = json.dumps({"service": "A", "pad": "x" * 11 * 1024 * 1024})
    assert_json_error(client.post("/api/v1/halls/demo/tickets", data=big, content_type="application/json"), 413)
    just_under = json.dumps({"service": "A", "pad": "x" * 60 * 1024})
    assert_json_error(client.post("/api/v1/halls/demo/tickets", data=just_under,
                                  content_type="application/json"), 422)  # read and refused field by field


@pytest.mark.parametrize("hour", ["²", "٣", "１", "-1", "24", "99999999999999999999999"])
def test_hour_takes_ascii_digits_only(app, demo, hour):
    boss = sign_in(app.test_client(), "supervisor", demo.passwords["supervisor"])
    assert_json_error(boss.get(f"/api/v1/halls/demo/stats/report", query_string={"hour": hour}), 400)
    assert boss.get("/reports/demo", query_string={"hour": hour}).status_code == 400
    assert boss.get("/api/v1/halls/demo/stats/report?hour=7").status_code == 200


@pytest.mark.parametrize("path", [
    "/api/v1/halls/demo/counters/99999999999999999999999/open",
    "/api/v1/halls/demo/counters/2147483648/call-next",
    "/api/v1/halls/demo/monitor/counters/99999999999999999999999/pause",
    "/api/v1/halls/demo/alarms/99999999999999999999999/acknowledge",
    "/api/v1/halls/demo/alarms/²/acknowledge",
])
def test_huge_numbers_in_paths_are_404(client, admin_token, path):
    assert_json_error(client.post(path, headers=admin_token), 404)


def test_huge_numbers_in_bodies_are_422(client, admin_token):
    client.post("/api/v1/halls/demo/counters/1/open", headers=admin_token)
    client.post("/api/v1/halls/demo/tickets", json={"service": "A"})
    client.post("/api/v1/halls/demo/counters/1/call-next", headers=admin_token)
    assert_json_error(client.post("/api/v1/halls/demo/counters/1/transfer", json={"counter": 10**23},
                                  headers=admin_token), 422)


@pytest.mark.parametrize("text", ["a\x00b", "\x07bell", "x\x1by", "del\x7f", "c1\x85", "lone \ud800"])
def test_control_characters_are_refused_in_api_text(client, admin_token, text):
    assert_json_error(client.post("/api/v1/halls/demo/notices", json={"text_zh": text}, headers=admin_token), 422)
    booking = {"service": "B", "day": "2030-01-07", "slot": "09:00", "name": text, "phone": "13800000000"}
    assert_json_error(client.post("/api/v1/halls/demo/appointments", json=booking), 422)
    assert_json_error(client.post("/api/v1/halls/demo/tickets", json={"service": "A", "idempotency_key": text * 8}),
                      422)


def test_text_with_line_breaks_is_still_text(client, admin_token):
    response = client.post("/api/v1/halls/demo/notices", json={"text_zh": "  第一行\n第二行\t完  "}, headers=admin_token)
    assert response.status_code == 201 and response.get_json()["text_zh"] == "第一行\n第二行\t完"
    assert_json_error(client.post("/api/v1/halls/demo/notices", json={"text_zh": "   "}, headers=admin_token), 400)


def test_control_characters_are_refused_in_forms(app, demo):
    admin = sign_in(app.test_client(), "admin", demo.passwords["admin"])
    response = form(admin, "/admin/demo/notices/new?lang=en", text_zh="公告\x00", text_en="notice")
    assert response.status_code == 400 and "Control characters are not allowed" in response.get_data(as_text=True)
    zh = form(admin, "/admin/demo/notices/new?lang=zh", text_zh="公告\x00", text_en="notice")
    assert "此处不能包含控制字符" in zh.get_data(as_text=True)
    response = form(admin, f"/admin/demo/staff/{demo.staff('staff3').id}?lang=en", name="name\x1b[31m")
    assert response.status_code == 400
    assert demo.staff("staff3").name == "窗口3工作人员"


def test_method_not_allowed_keeps_the_allow_header(client):
    response = client.delete("/api/v1/halls/demo/services")
    assert_json_error(response, 405)
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "HEAD", "OPTIONS"}


def _refs(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_openapi_references_resolve_and_statuses_are_documented(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    refs = set(_refs(doc))
    assert {"#/components/schemas/MissingMaterials", "#/components/schemas/ServiceLinkBody"} <= refs
    for ref in refs:
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in doc["components"]["schemas"]
    paths = doc["paths"]

    def statuses(path, method):
        return set(paths[path][method]["responses"])

    assert "401" in statuses("/kiosk/print-jobs", "get") and "401" in statuses("/kiosk/print-jobs/{job_id}", "post")
    assert "429" in statuses("/halls/{hall}/appointments", "post")
    assert "403" in statuses("/halls/{hall}/counters/{number}/feedback", "post")
    assert "403" in statuses("/halls/{hall}/kiosk/tickets", "post")
    reasons = paths["/tickets/{token}/feedback"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    from hall.visitor.feedback import REASONS
    assert reasons["properties"]["reasons"]["items"]["enum"] == list(REASONS)
    assert document() == doc


def _outcome(read):
    """What reading a body gives: the model's fields, or the HTTP error, or the validation errors."""
    from pydantic import ValidationError
    from werkzeug.exceptions import HTTPException
    try:
        return "model", read().model_dump()
    except HTTPException as error:
        return "http", error.code, error.description
    except ValidationError as error:
        return "invalid", error.errors(include_url=False, include_context=False)


def _as_python_reads_it(model):
    """The body as Python's JSON reader and then the model read it (what `body` did before it let pydantic's
    JSON reader try first)."""
    from flask import abort, request
    if not request.content_length:
        return model.model_validate({})
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        abort(400, description="the body is nested too deeply")
    if data is None:
        abort(400, description="the body is not valid JSON")
    if not isinstance(data, dict):
        abort(400, description="the body must be a JSON object")
    return model.model_validate(data)


@pytest.mark.parametrize("raw", [
    b'{"service": "A"}', b'{"service": " a ", "channel": "staff", "idempotency_key": "k-1"}\n',
    b'{"service": "A", "service": "B"}', b'{"service": "A", "priority": "vip"}', b'{"service": "A", "extra": 1}',
    b'{"service": "A\\u0001"}', b'{"service": "A\\ud800"}', b'{"service": "A\\u00e9\xe4\xb8\xad"}',
    b'{"service": "\xff"}', b'\xef\xbb\xbf{"service": "A"}', '{"service": "A"}'.encode("utf-16"),
    b'{"service": "A", "idempotency_key": NaN}', b'{"service": 1' + b"0" * 400 + b"}", b'{"service": "A"} x',
    b"[1]", b"null", b'"A"', b"", b"{", b'{"service": ' + b"[" * DEEP + b"]" * DEEP + b"}",
    b'{"service": "A", "id_number": "110105194912310' + b"0" * 5000 + b'"}'])
def test_a_body_reads_as_pythons_json_reader_and_the_model_read_it(app, raw):
    """Whatever the body, `body` gives the model, or refuses it with the very error, that Python's JSON reader
    followed by the model's validation gives (pydantic's own JSON reader, tried first, must not let through
    or change anything)."""
    from hall.api import body
    from hall.api.schemas import IssueTicket

    def read(how):
        with app.test_request_context("/api/v1/halls/demo/tickets", method="POST", data=raw,
                                      content_type="application/json"):
            return _outcome(lambda: how(IssueTicket))

    assert read(body) == read(_as_python_reads_it)
