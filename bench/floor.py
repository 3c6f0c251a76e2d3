"""The floor: the least a Flask app on Hall's stack does per ticket (one INSERT), for bench/issue_rate.py."""
import os

import sqlalchemy as sa
from flask import Flask, jsonify, request

from hall.config import load_settings

app = Flask(__name__)
POOL = load_settings()["database"]  # Hall's own pool, as config.toml and HALL_DATABASE_* set it
engine = sa.create_engine(os.environ["FLOOR_DATABASE_URL"], pool_size=POOL["pool_size"],
                          max_overflow=POOL["max_overflow"], pool_use_lifo=True)
if engine.dialect.name == "sqlite":
    sa.event.listen(engine, "connect", lambda conn, _: conn.executescript(
        "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=10000; PRAGMA synchronous=NORMAL;"))
INSERT = sa.text("INSERT INTO floor_tickets (hall, service) VALUES (:hall, :service) RETURNING id")


@app.post("/api/v1/halls/<hall>/tickets")
def issue(hall: str):
    with engine.begin() as connection:
        number = connection.execute(INSERT, {"hall": hall, "service": request.get_json()["service"]}).scalar_one()
    return jsonify({"number": f"{number:03d}"}), 201
