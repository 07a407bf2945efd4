"""pynsq against the gort broker: a Writer publishes N messages (PUB and MPUB), a
Reader consumes and FINs them. Prints a JSON summary; exits 0 only if every message
arrived exactly once.

usage: pub_consume.py HOST:PORT N
"""
import json
import sys

import nsq
import tornado.ioloop

addr, n = sys.argv[1], int(sys.argv[2])
loop = tornado.ioloop.IOLoop.current()
received = {}
errors = []


def handler(message):
    body = message.body.decode()
    received[body] = received.get(body, 0) + 1
    if len(received) == n:
        # Linger a little so a duplicate would show up.
        loop.call_later(0.5, loop.stop)
    return True  # FIN


reader = nsq.Reader(
    topic="py",
    channel="c",
    message_handler=handler,
    nsqd_tcp_addresses=[addr],
    max_in_flight=50,
    lookupd_poll_interval=60,
)
writer = nsq.Writer([addr])
bodies = ["py-%d" % i for i in range(n)]


def publish(start=0):
    if start >= n:
        return
    if start < n // 2:
        # PUB, one by one; the next goes once this one is answered.
        def cb(conn, data):
            if isinstance(data, nsq.Error):
                loop.call_later(0.1, publish, start)  # not connected yet: retry
            else:
                publish(start + 1)

        writer.pub("py", bodies[start].encode(), cb)
    else:
        def cb(conn, data):
            if isinstance(data, nsq.Error):
                loop.call_later(0.1, publish, start)
            else:
                publish(start + 100)

        writer.mpub("py", [b.encode() for b in bodies[start:start + 100]], cb)


def give_up():
    errors.append("timed out with %d of %d" % (len(received), n))
    loop.stop()


loop.call_later(0.3, publish)
loop.call_later(60, give_up)
loop.start()
dups = {b: c for b, c in received.items() if c > 1}
ok = not errors and not dups and set(received) == set(bodies)
print(json.dumps({"received": len(received), "duplicates": len(dups), "errors": errors}))
sys.exit(0 if ok else 1)
