#!/usr/bin/env python3
"""Integration: the load generator end to end (issue 8), as scripts/bench runs it but small:
a generated PKI, 20 profiles and a pool order loaded with `smdp-bench load`, the real smdp on
a free port, 20 full downloads at concurrency 4 with `smdp-bench run`. Asserts outcomes only
(every download done, zero errors, the report's lines), never timings."""
import os
import re
import signal
import subprocess
import sys
import tempfile

smdp, bench = sys.argv[1], sys.argv[2]
shared = os.environ["SMDP_SHARED"]
failures = 0
n = 0


def check(cond, what):
    global failures, n
    n += 1
    print(("ok" if cond else "not ok") + f" {n} - {what}")
    if not cond:
        failures += 1


with tempfile.TemporaryDirectory() as tmp:
    pki, state = os.path.join(tmp, "pki"), os.path.join(tmp, "state")
    os.mkdir(state)
    subprocess.run([smdp, "pki", "init", "--dir", pki, "--host", "localhost"], check=True,
                   stdout=subprocess.DEVNULL)
    load = subprocess.run([bench, "load", "--db", os.path.join(state, "smdp.db"), "-n", "20",
                           "--package", os.path.join(shared, "ts48", "TS48v1_A.der")],
                          capture_output=True, text=True)
    check(load.returncode == 0 and "20 profiles of type bench, pool order BENCH" in load.stdout,
          f"load: 20 profiles and a pool order ({load.stderr.strip()})")
    bad = subprocess.run([bench, "run", "-n", "0"], capture_output=True, text=True)
    check(bad.returncode == 2, "a bad option exits 2")

    log = open(os.path.join(tmp, "server.log"), "w")
    srv = subprocess.Popen([smdp, "serve", "--state-dir", state, "--listen", "127.0.0.1:0",
                            "--tls-cert", os.path.join(pki, "dptls-cert.pem"),
                            "--tls-key", os.path.join(pki, "dptls-key.pem"), "--pki-dir", pki,
                            "--log", "warn"], stdout=subprocess.PIPE, stderr=log, text=True)
    ready = srv.stdout.readline()
    m = re.search(r"address=(\S+) port=(\d+)", ready)
    check(m is not None, f"server ready: {ready.strip()}")
    if m:
        run = subprocess.run([bench, "run", "--address", m.group(1), "--pki", pki, "-n", "20",
                              "-c", "4", "--server-pid", str(srv.pid), "--floor-us", "1000"],
                             capture_output=True, text=True, timeout=240)
        out = run.stdout
        check(run.returncode == 0, f"run exits 0 ({run.stderr.strip()})")
        summary = dict(kv.split("=", 1) for kv in
                       (out.splitlines()[-1].split()[1:] if out.startswith("smdp-bench") else []))
        check(summary.get("downloads") == "20", f"20 downloads done: {summary.get('downloads')}")
        check(summary.get("errors") == "0", f"zero errors: {summary.get('errors')}")
        check("errors         none" in out, "the report says no errors")
        for fn in ["initiateAuthentication", "authenticateClient", "getBoundProfilePackage",
                   "handleNotification"]:
            check(re.search(rf"^{fn} .* 20$", out, re.M) is not None, f"20 timed {fn} calls")
        check(float(summary.get("server_cpu_ms", "0")) > 0 and "ratio" in summary
              and float(summary.get("peak_rss_mb", "0")) > 0,
              "server CPU per download, the ratio to the floor and the peak RSS are reported")
        # the pool is used up: one more download is refused with 8.2.5/4.3 and counted
        more = subprocess.run([bench, "run", "--address", m.group(1), "--pki", pki, "-n", "1",
                               "-c", "1"], capture_output=True, text=True, timeout=60)
        check("authenticateClient 8.2.5/4.3" in more.stdout and " errors=1 " in more.stdout,
              "a refusal is counted under its function and code")
    srv.send_signal(signal.SIGTERM)
    check(srv.wait(timeout=30) == 0, "server stops cleanly")

print(f"1..{n}")
sys.exit(1 if failures else 0)
