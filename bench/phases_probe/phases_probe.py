"""Inside a Hall server worker (bench/issue_phases.py): each issue's phases (its wait in the process for a
place at the hall's lock, its time holding one, the one call's statement), every hold of the event loop by
one greenlet over $HALL_PHASES_HOLD_MS ms (wall and the loop thread's CPU, with where it let go), the loop's
CPU by greenlet, the housekeeping greenlet's every slice, and each garbage collection. Written as JSON lines
to $HALL_PHASES_PROBE.<pid> whenever no issue has come for 0.6 s (between rounds)."""
import gc, json, os, sys, time, traceback
import gevent, greenlet
from contextlib import contextmanager

now = time.perf_counter
OUT = os.environ["HALL_PHASES_PROBE"]
HOLD_MS = float(os.environ.get("HALL_PHASES_HOLD_MS", "5"))
records = []     # one per request
holds = []       # (start, ms, cpu_ms, label, where)
gcs = []
state = {"last": now(), "cpu": time.thread_time()}
cpu_by = {}
hkslices = []


def label_of(g):
    if g is None:
        return "?"
    run = getattr(g, "_run", None) or getattr(g, "run", None)
    name = getattr(run, "__qualname__", None) or type(g).__name__
    return name


def trace(event, args):
    if event not in ("switch", "throw"):
        return
    origin, target = args
    t, c = now(), time.thread_time()
    dt = (t - state["last"]) * 1000
    if dt > HOLD_MS and origin is not None:
        where = ""
        if not isinstance(origin, gevent.hub.Hub):
            stack = traceback.extract_stack(sys._getframe(1), limit=14)
            where = " < ".join(f"{os.path.basename(f.filename)}:{f.lineno}:{f.name}" for f in reversed(stack)
                               if "gevent" not in f.filename and "greenlet" not in f.filename)[:600]
        holds.append((state["last"], round(dt, 2), round((c - state["cpu"]) * 1000, 2), label_of(origin), where))
    lab = label_of(origin)
    if "housekeeping" in lab:
        hkslices.append((state["last"], round((c - state["cpu"]) * 1000, 3)))
    cpu_by[lab] = cpu_by.get(lab, 0) + (c - state["cpu"]) * 1000
    rec = getattr(origin, "_phases", None)
    if rec is not None:
        rec["run_ms"] = rec.get("run_ms", 0) + dt
        rec["slices"] = rec.get("slices", 0) + 1
    state["last"], state["cpu"] = t, c


def gc_cb(phase, info):
    if phase == "start":
        state["gc"] = now()
    else:
        gcs.append((state["gc"], round((now() - state["gc"]) * 1000, 2), info.get("generation"), info.get("collected")))


@contextmanager
def phase(name):
    rec = getattr(gevent.getcurrent(), "_phases", None)
    t = now()
    try:
        yield
    finally:
        if rec is not None:
            rec[name] = rec.get(name, 0) + (now() - t) * 1000
            rec.setdefault("marks", []).append((name, round((t - rec["t0"]) * 1000, 2), round((now() - t) * 1000, 2)))


def install(app):
    from hall.queue import one_statement, limit_function
    import hall.database as database

    inner = app.wsgi_app

    def timed(environ, start_response):
        g = gevent.getcurrent()
        g._phases = rec = {"t0": now(), "path": environ.get("PATH_INFO")}
        try:
            return inner(environ, start_response)
        finally:
            rec["total"] = (now() - rec["t0"]) * 1000
            rec["t0"] = rec["t0"]
            del g._phases
            records.append(rec)
    app.wsgi_app = timed

    at_lock = one_statement._at_the_lock

    @contextmanager
    def _at_the_lock(hall_id):
        rec = getattr(gevent.getcurrent(), "_phases", None)
        t = now()
        with at_lock(hall_id):
            if rec is not None:
                rec["place_wait"] = (now() - t) * 1000
                rec["t_place"] = (now() - rec["t0"]) * 1000
            t2 = now()
            try:
                yield
            finally:
                if rec is not None:
                    rec["at_lock"] = (now() - t2) * 1000
    one_statement._at_the_lock = _at_the_lock

    run_driver = one_statement.run_driver

    def timed_run_driver(*a, **k):
        with phase("execute"):
            return run_driver(*a, **k)
    one_statement.run_driver = timed_run_driver
    in_ac = one_statement.in_autocommit

    def timed_in_ac(*a, **k):
        with phase("call"):
            return in_ac(*a, **k)
    one_statement.in_autocommit = timed_in_ac

    def kinded(module, name, kind):
        original = getattr(module, name)

        def wrapper(*a, **k):
            rec = getattr(gevent.getcurrent(), "_phases", None)
            if rec is not None:
                rec["kind"] = kind
            return original(*a, **k)
        setattr(module, name, wrapper)
    kinded(one_statement, "issue", "plain")
    kinded(limit_function, "issue_within_limit", "realname")

    greenlet.settrace(trace)
    gc.callbacks.append(gc_cb)

    def dump():
        while True:
            gevent.sleep(0.25)
            if not records or now() - records[-1]["t0"] < 0.6:
                continue
            with open(f"{OUT}.{os.getpid()}", "a") as f:
                while records:
                    r = records.pop(0)
                    f.write(json.dumps({"k": "req", **r}) + "\n")
                while holds:
                    f.write(json.dumps({"k": "hold", "v": holds.pop(0)}) + "\n")
                while hkslices:
                    f.write(json.dumps({"k": "hks", "v": hkslices.pop(0)}) + "\n")
                f.write(json.dumps({"k": "cpu", "v": cpu_by}) + "\n")
                while gcs:
                    f.write(json.dumps({"k": "gc", "v": gcs.pop(0)}) + "\n")
    gevent.spawn(dump)
