"""Peak memory of an nsqd with a 1,000,000-message backlog: publishes 1,000 MPUBs of
1,000 100-byte messages to topic `backlog` (its channel `c` made first, so every
message is queued for it), prints the broker's VmHWM, drains the channel with FINs,
prints VmHWM again. Speaks the TCP protocol directly (no client library), so the
numbers are the broker's own.

usage: backlog.py TCP_PORT HTTP_PORT NSQD_PID
"""
import json
import socket
import struct
import sys
import time
import urllib.request

port, http, pid = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
N_BATCHES, BATCH, BODY = 1000, 1000, b"x" * 100


def vm_hwm_kib():
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])


def read_frame(sock):
    head = b""
    while len(head) < 8:
        head += sock.recv(8 - len(head))
    size = struct.unpack(">i", head[:4])[0]
    data = b""
    while len(data) < size - 4:
        data += sock.recv(size - 4 - len(data))
    return data


sub = socket.create_connection(("127.0.0.1", port))
sub.sendall(b"  V2SUB backlog c\n")
assert read_frame(sub) == b"OK"
pub = socket.create_connection(("127.0.0.1", port))
pub.sendall(b"  V2")
start = time.monotonic()
payload = struct.pack(">i", BATCH) + b"".join(struct.pack(">i", len(BODY)) + BODY for _ in range(BATCH))
for _ in range(N_BATCHES):
    pub.sendall(b"MPUB backlog\n" + struct.pack(">i", len(payload)) + payload)
    assert read_frame(pub) == b"OK"
published = time.monotonic() - start
time.sleep(1)
stats = json.load(urllib.request.urlopen("http://127.0.0.1:%d/stats?format=json&topic=backlog" % http))
ch = stats["topics"][0]["channels"][0]
hwm_published = vm_hwm_kib()

want = N_BATCHES * BATCH
sub.sendall(b"RDY 2500\n")
sub.settimeout(30)
buf, n, start = bytearray(), 0, time.monotonic()
while n < want:
    data = sub.recv(1 << 20)
    if not data:
        break
    buf += data
    i, out = 0, []
    while len(buf) - i >= 8:
        size = struct.unpack_from(">i", buf, i)[0]
        if len(buf) - i < 4 + size:
            break
        kind = struct.unpack_from(">i", buf, i + 4)[0]
        if kind == 2:  # message: 8 B timestamp, 2 B attempts, 16 B id, body
            out.append(b"FIN " + bytes(buf[i + 18:i + 34]) + b"\n")
            n += 1
        elif bytes(buf[i + 8:i + 4 + size]) == b"_heartbeat_":
            out.append(b"NOP\n")
        i += 4 + size
    del buf[:i]
    if out:
        sub.sendall(b"".join(out))
drained = time.monotonic() - start
print(json.dumps({
    "published": want, "publish_secs": round(published, 2),
    "depth": ch["depth"], "backend_depth": ch["backend_depth"],
    "vm_hwm_mib_after_publish": round(hwm_published / 1024, 1),
    "drained": n, "drain_secs": round(drained, 2),
    "vm_hwm_mib_after_drain": round(vm_hwm_kib() / 1024, 1),
}))
