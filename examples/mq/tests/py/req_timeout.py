"""pynsq against the gort broker: REQ with a delay, and a message left to time out
(msg_timeout negotiated to 1 s through IDENTIFY), both redelivered with attempts
counted and then FINed. Prints a JSON summary; exits 0 if the broker behaved.

usage: req_timeout.py HOST:PORT
"""
import json
import sys
import time

import nsq
import tornado.ioloop

addr = sys.argv[1]
loop = tornado.ioloop.IOLoop.current()
seen = {}  # body -> list of (attempts, monotonic time)
held = []  # messages left unanswered on purpose (kept so they are not auto-FINed)
done = set()


def handler(message):
    body = message.body.decode()
    seen.setdefault(body, []).append((message.attempts, time.monotonic()))
    if body == "req-me" and message.attempts == 1:
        message.enable_async()
        message.requeue(time_ms=300, backoff=False)
        return
    if body == "timeout-me" and message.attempts == 1:
        message.enable_async()  # never answered: it must time out and come back
        held.append(message)
        return
    done.add(body)
    if done == {"req-me", "timeout-me", "plain"}:
        loop.call_later(0.3, loop.stop)
    return True


reader = nsq.Reader(
    topic="pyreq",
    channel="c",
    message_handler=handler,
    nsqd_tcp_addresses=[addr],
    max_in_flight=10,
    lookupd_poll_interval=60,
    msg_timeout=1,
    heartbeat_interval=1,
)
writer = nsq.Writer([addr])


def publish():
    def cb(conn, data):
        if isinstance(data, nsq.Error):
            loop.call_later(0.1, publish)

    writer.mpub("pyreq", [b"req-me", b"timeout-me", b"plain"], cb)


loop.call_later(0.3, publish)
loop.call_later(30, loop.stop)
loop.start()
report = {b: [a for a, _ in v] for b, v in seen.items()}
req_gap = None
if len(seen.get("req-me", [])) >= 2:
    req_gap = seen["req-me"][1][1] - seen["req-me"][0][1]
print(json.dumps({"attempts": report, "req_gap_s": req_gap}))
ok = (
    report.get("req-me", [])[:2] == [1, 2]
    and report.get("timeout-me", [])[:2] == [1, 2]
    and report.get("plain") == [1]
    and req_gap is not None
    and req_gap >= 0.3
)
sys.exit(0 if ok else 1)
