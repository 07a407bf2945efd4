"""The benchmark load with pynsq: one Writer publishing N 100-byte messages (PUB,
with up to WINDOW unanswered) and one Reader FINing them, against any nsqd. Each body
carries its publish time, so the Reader measures publish-to-handle latency.
Prints msgs/s and p50/p99 latency as JSON.

usage: bench.py HOST:PORT N [WINDOW]
"""
import json
import sys
import time

import nsq
import tornado.ioloop

addr, n = sys.argv[1], int(sys.argv[2])
window = int(sys.argv[3]) if len(sys.argv) > 3 else 100
loop = tornado.ioloop.IOLoop.current()
lat = []
state = {"sent": 0, "acked": 0, "start": None, "end": None}
topic = "bench_py_%d" % int(time.time() * 1000)


def handler(message):
    t = int(message.body[:20])
    lat.append(time.time_ns() - t)
    if len(lat) == n:
        state["end"] = time.monotonic()
        loop.stop()
    return True


reader = nsq.Reader(
    topic=topic, channel="c", message_handler=handler, nsqd_tcp_addresses=[addr],
    max_in_flight=2500, lookupd_poll_interval=60,
)
writer = nsq.Writer([addr])


def body():
    return ("%020d" % time.time_ns()).encode() + b"x" * 80


def cb(conn, data):
    if isinstance(data, nsq.Error):
        state["sent"] -= 1
        loop.call_later(0.05, pump)
        return
    state["acked"] += 1
    pump()


def pump():
    if state["start"] is None:
        state["start"] = time.monotonic()
    while state["sent"] < n and state["sent"] - state["acked"] < window:
        state["sent"] += 1
        writer.pub(topic, body(), cb)


loop.call_later(1.0, pump)
loop.call_later(600, loop.stop)
loop.start()
lat.sort()
secs = (state["end"] or time.monotonic()) - state["start"]
print(json.dumps({
    "messages": len(lat),
    "msgs_per_sec": round(len(lat) / secs),
    "p50_us": round(lat[len(lat) // 2] / 1000) if lat else None,
    "p99_us": round(lat[int(len(lat) * 0.99)] / 1000) if lat else None,
}))
