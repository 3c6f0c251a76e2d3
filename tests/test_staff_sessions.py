"""Deactivating a staff member or changing their password ends their sessions at once."""
from __future__ import annotations

from flask_login import session_protected

from hall.extensions import login
from tests.supervisor_support import sign_in
from tests.test_admin import form

STAFF_PAGE = "/counter/demo"
STAFF_API = "/api/v1/halls/demo/appointments"


def signed_in(response) -> bool:
    return response.status_code == 200


def test_deactivated_staff_loses_open_sessions(app, demo):
    admin = sign_in(app.test_client(), "admin", demo.passwords["admin"])
    staff = sign_in(app.test_client(), "staff1", demo.passwords["staff1"])
    assert signed_in(staff.get(STAFF_PAGE)) and signed_in(staff.get(STAFF_API))
    person = demo.staff("staff1")
    assert form(admin, f"/admin/demo/staff/{person.id}", active=False).status_code == 302
    assert staff.get(STAFF_PAGE).status_code in (302, 401)
    assert staff.get(STAFF_API).status_code == 401
    assert form(admin, f"/admin/demo/staff/{person.id}", active="y").status_code == 302
    sign_in(app.test_client(), "staff1", demo.passwords["staff1"])  # a new sign-in works again


def test_password_change_ends_sessions_and_revokes_tokens(app, demo):
    admin = sign_in(app.test_client(), "admin", demo.passwords["admin"])
    staff = sign_in(app.test_client(), "staff2", demo.passwords["staff2"])
    token = {"Authorization": f"Bearer {demo.token('staff2')}"}
    api = app.test_client()
    assert signed_in(staff.get(STAFF_PAGE)) and signed_in(api.get(STAFF_API, headers=token))
    person = demo.staff("staff2")
    assert form(admin, f"/admin/demo/staff/{person.id}", password="a-new-password-2").status_code == 302
    assert staff.get(STAFF_PAGE).status_code in (302, 401)
    assert api.get(STAFF_API, headers=token).status_code == 401
    fresh = sign_in(app.test_client(), "staff2", "a-new-password-2")
    assert signed_in(fresh.get(STAFF_PAGE))
    assert signed_in(api.get(STAFF_API, headers={"Authorization": f"Bearer {demo.token('staff2')}"}))
    assert signed_in(admin.get("/admin/demo")), "other staff keep their sessions"


def test_own_password_change_keeps_the_current_session(app, demo):
    admin = sign_in(app.test_client(), "admin", demo.passwords["admin"])
    elsewhere = sign_in(app.test_client(), "admin", demo.passwords["admin"])
    me = demo.staff("admin")
    assert form(admin, f"/admin/demo/staff/{me.id}", password="my-new-admin-password").status_code == 302
    assert signed_in(admin.get("/admin/demo"))
    assert elsewhere.get("/admin/demo").status_code in (302, 401)


def test_forged_or_old_session_ids_are_refused(app, demo):
    """A cookie holding only the id (the format before the password stamp) no longer signs anyone in."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(demo.staff("admin").id)
        session["_fresh"] = True
    assert client.get("/admin/demo").status_code in (302, 401)
    for forged in ("99999999999999999999999:x", "²:x", ":", "1:"):
        with client.session_transaction() as session:
            session["_user_id"] = forged
        assert client.get("/admin/demo").status_code in (302, 401)


def test_deactivation_closes_the_staff_members_live_connections(app, demo):
    from hall.extensions import socketio

    def connect(client=None):
        with app.app_context():  # its own context, as in a server: the signed-in user is not shared
            return socketio.test_client(app, flask_test_client=client, auth={"hall": "demo"})

    admin = sign_in(app.test_client(), "admin", demo.passwords["admin"])
    screen = connect(sign_in(app.test_client(), "staff1", demo.passwords["staff1"]))
    colleague = connect(sign_in(app.test_client(), "staff2", demo.passwords["staff2"]))
    public = connect()
    assert screen.is_connected() and colleague.is_connected() and public.is_connected()
    assert form(admin, f"/admin/demo/staff/{demo.staff('staff1').id}", active=False).status_code == 302
    assert not screen.is_connected(), "the deactivated staff member's screen still receives staff events"
    assert colleague.is_connected() and public.is_connected()
    assert form(admin, f"/admin/demo/staff/{demo.staff('staff2').id}", password="another-password-2").status_code == 302
    assert not colleague.is_connected() and public.is_connected()
    public.disconnect()


def test_session_protection_guards_sessions_and_skips_requests_without_one(app, demo, monkeypatch):
    """A signed-in session seen from another browser is protected (marked not fresh); a request with
    no session (a kiosk's issue) does not compute the address-and-browser hash at all."""
    hashed, protected = [], []
    generate = login._session_identifier_generator
    monkeypatch.setattr(login, "_session_identifier_generator", lambda: hashed.append(1) or generate())
    app.test_client().post("/api/v1/halls/demo/tickets", json={"service": "A"})
    assert hashed == []
    staff = sign_in(app.test_client(), "staff1", demo.passwords["staff1"])
    session_protected.connect(lambda _app: protected.append(1), app, weak=False)
    assert signed_in(staff.get(STAFF_API))
    assert hashed and protected == []
    assert signed_in(staff.get(STAFF_API, headers={"User-Agent": "another browser"}))
    assert protected == [1]
    with staff.session_transaction() as session:
        assert session["_fresh"] is False


def test_a_request_with_neither_cookie_nor_token_is_anonymous_without_a_search_and_varies_on_cookie(
        app, demo, monkeypatch):
    """A kiosk's issue carries no cookie and no bearer token: it is anonymous without the request
    loader being asked, and its answer still varies on Cookie; a token or a session still finds its staff."""
    asked = []
    loader = login._request_callback
    monkeypatch.setattr(login, "_request_callback", lambda req: asked.append(1) or loader(req))
    tickets = "/api/v1/halls/demo/tickets"
    anonymous = app.test_client()
    issued = anonymous.post(tickets, json={"service": "A"})
    assert issued.status_code == 201 and asked == []
    assert issued.headers["Vary"] == "Cookie" and "Set-Cookie" not in issued.headers
    assert anonymous.post(tickets, json={"service": "A", "channel": "staff"}).status_code == 401
    bearer = {"Authorization": f"Bearer {demo.token('staff1')}"}
    assert anonymous.post(tickets, json={"service": "A", "channel": "staff"}, headers=bearer).status_code == 201
    assert asked == [1]
    staff = sign_in(app.test_client(), "staff1", demo.passwords["staff1"])
    refused = staff.post(tickets, json={"service": "A", "channel": "staff"})  # a session call needs its CSRF token
    assert refused.status_code == 400 and "csrf" in refused.get_json()["message"].lower()
