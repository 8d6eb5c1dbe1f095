"""Citizens' load from a town's service-centre client, through a site's front over HTTPS, as a
citizen reaches the applications: a new 12345 ticket and a service-hall page in turn, until told
to stop; then what it saw (total, failed, the first failures). Used by the lab tests and benches
that must show a change costs citizens nothing (a rolling deploy, a failover)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import json, signal, ssl, sys, time, urllib.error, urllib.request
front, ca, hotline, hall, pause = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
tls = ssl.create_default_context(cafile=ca)
seen = {"total": 0, "failed": 0, "errors": [], "latencies_ms": []}
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
n = 0
while not stop:
    n += 1
    if n % 2:
        body = json.dumps({"caller_phone": "13900000000", "town_id": "shiqiao", "category": "咨询",
                           "content": "citizens load", "client_ref": f"citizens-{time.time()}-{n}"}).encode()
        req, want = urllib.request.Request(f"https://{front}:{hotline}/tickets", data=body,
                                           headers={"Content-Type": "application/json"}), 201
    else:
        req, want = urllib.request.Request(f"https://{front}:{hall}/"), 200
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=5, context=tls) as r:
            r.read()
            ok, what = r.status == want, r.status
    except urllib.error.HTTPError as e:
        ok, what = False, e.code
    except OSError as e:
        ok, what = False, type(getattr(e, "reason", e)).__name__
    seen["total"] += 1
    seen["latencies_ms"].append(round((time.perf_counter() - t0) * 1000, 2))
    if not ok:
        seen["failed"] += 1
        if len(seen["errors"]) < 50:
            seen["errors"].append(f"{time.strftime('%H:%M:%S')} {req.full_url}: {what}")
    time.sleep(pause)
print(json.dumps(seen))
"""


def start(client_argv: list[str], front: str, ca: Path, hotline_port: int, hall_port: int,
          pause: float = 0.02) -> subprocess.Popen:
    """Start the load; `client_argv` is the prefix that runs a command in a town's client namespace
    (`Lab.network.client_argv(town)`)."""
    argv = [*client_argv, sys.executable, "-c", SCRIPT, front, str(ca), str(hotline_port), str(hall_port), str(pause)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop(p: subprocess.Popen) -> dict:
    """Stop the load; what it saw."""
    p.terminate()
    outs, errs = p.communicate(timeout=30)
    try:
        return json.loads(outs)
    except ValueError:
        raise RuntimeError(f"citizens' load ended without a report: {errs.strip()[-300:]}") from None
