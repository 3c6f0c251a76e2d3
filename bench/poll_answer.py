"""What a long-polling screen's poll costs the server's loop around the socket: one event's answer and
the parse of the screen's next poll, as a gevent server process does them (hall/server/long_polls.py).

    python bench/poll_answer.py [--root OTHER_CHECKOUT] [--rounds 5] [--polls 20000]

One Engine.IO session and a local socket pair (its other end drained by a greenlet): each poll puts a
hall event in the session's queue, answers it (`LongPolls.answer`) and reads the next poll's head
(`LongPolls.of_head`, the same headers as a screen sends them). Prints the loop thread's CPU per poll,
median of the rounds, for this checkout and, with --root, another one, alternating (each in a process
of its own). The kernel's side of a TCP send and the wait for the next poll are not in it.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MEASURE = r"""
from gevent import monkey; monkey.patch_all()
import socket, sys, time
import gevent, engineio
from engineio import packet as eio_packet, socket as eio_socket
from hall.server.long_polls import LongPolls

eio = engineio.Server(async_mode="gevent")
session = eio.sockets["s1"] = eio_socket.Socket(eio, "s1")
session.connected = True
polls = LongPolls(eio)
head = (b"GET /socket.io/?EIO=4&transport=polling&t=P1&sid=s1 HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n"
        b"User-Agent: screen\r\nAccept-Encoding: gzip, deflate\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n")
poll = polls.of_head(head)
server_end, screen_end = socket.socketpair()
gevent.spawn(lambda: [screen_end.recv(65536) for _ in iter(int, 1)])
event = eio_packet.Packet(eio_packet.MESSAGE, '2["hall_event",{"kind":"called","seq":1,"ticket":{"number":"A001"},'
                                              '"counter":{"number":1,"name":"Counter 1"}}]')
count = int(sys.argv[1])
started = time.thread_time()
for index in range(count):
    session.queue.put(event)
    polls.answer(poll, server_end)
    poll = polls.of_head(head, poll)
    if index % 50 == 0:
        gevent.sleep(0)  # the drain reads
print(1e6 * (time.thread_time() - started) / count)
"""


def measure(root: Path, polls: int) -> float:
    """CPU µs per poll of `root`'s long polls, in a process of its own."""
    answer = subprocess.run([sys.executable, "-c", MEASURE, str(polls)], cwd=root, env={"PYTHONPATH": str(root)},
                            capture_output=True, text=True, check=True)
    return float(answer.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, help="another checkout, measured alternately with this one")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--polls", type=int, default=20000)
    args = parser.parse_args()
    roots = [ROOT, *([args.root] if args.root else [])]
    figures: dict[Path, list[float]] = {root: [] for root in roots}
    for _ in range(args.rounds):
        for root in roots:
            figures[root].append(measure(root, args.polls))
    for root, values in figures.items():
        print(f"{root}: {statistics.median(values):.1f} µs of CPU per poll (answer + next head), rounds "
              + " ".join(f"{value:.1f}" for value in values))
    if args.root:
        print(f"this / other: {statistics.median(figures[ROOT]) / statistics.median(figures[args.root]):.2f}×")


if __name__ == "__main__":
    main()
