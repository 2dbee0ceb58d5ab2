#!/usr/bin/env python3
"""Integration: the real smdp binary on a free port, over TLS with a freshly generated
ECDSA P-256 certificate. Checks the ready line, TLS 1.3 with AES-128-GCM, the HTTP rules
(404, 405 + Allow, 413 before any handler, coded JSON refusals with HTTP 200 for bodies that
are not what an ES9+ function takes, X-Admin-Protocol), the start-up errors of a server
without a PKI, a usage error's exit code, and a clean stop on SIGTERM."""
import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile

smdp = sys.argv[1]
failures = 0
n = 0


def check(cond, what):
    global failures, n
    n += 1
    print(("ok" if cond else "not ok") + f" {n} - {what}")
    if not cond:
        failures += 1


with tempfile.TemporaryDirectory() as tmp:
    key, cert = os.path.join(tmp, "k.pem"), os.path.join(tmp, "c.pem")
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key],
                   check=True)
    subprocess.run(["openssl", "req", "-new", "-x509", "-key", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, stderr=subprocess.DEVNULL)

    # the configuration table: the committed example is exactly the defaults' dump
    example = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "config", "smdp.yaml")
    dump = subprocess.run([smdp, "serve", "--dump-config"], capture_output=True, text=True)
    check(dump.returncode == 0 and dump.stdout == open(example).read(),
          "config/smdp.yaml is what 'smdp serve --dump-config' prints")
    cfg = os.path.join(tmp, "smdp.yaml")
    for text, want in [("threads: 7\nbogus: 1\n", "smdp.yaml:2:1: unknown option 'bogus'"),
                       ("threads: 0\n", "smdp.yaml:1:10: threads: '0' is not a number in 1..256"),
                       ("threads: 2\nthreads: 3\n", "smdp.yaml:2:1: 'threads' given twice"),
                       ("plain_http: maybe\n", "plain_http: 'maybe' is not true or false"),
                       ("listen: [a, b]\n", "smdp.yaml:1:9: listen: expected a single value"),
                       ("threads: 2\n  - x\n", "smdp.yaml:")]:
        open(cfg, "w").write(text)
        r = subprocess.run([smdp, "serve", "--config", cfg], capture_output=True, text=True)
        check(r.returncode == 1 and want in r.stderr, f"config error reported: {want!r} in {r.stderr.strip()!r}")
    open(cfg, "w").write("threads: 7\nlisten: 127.0.0.1:9\nlog: warn\n")
    r = subprocess.run([smdp, "serve", "--config", cfg, "--listen", "127.0.0.1:0", "--dump-config"],
                       capture_output=True, text=True)
    check("threads: 7" in r.stdout and 'listen: "127.0.0.1:0"' in r.stdout and 'log: "warn"' in r.stdout,
          "file values loaded, command line overrides the file")

    bad = subprocess.run([smdp, "serve", "--listen", "nonsense"], capture_output=True, text=True)
    check(bad.returncode == 2 and "--listen" in bad.stderr, "usage error exits 2 and names the option")

    # without DPauth/DPpb there is nothing to serve: a clear start-up error
    r = subprocess.run([smdp, "serve", "--state-dir", os.path.join(tmp, "state0"), "--listen",
                        "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 1 and "no CERT.DPauth and CERT.DPpb" in r.stderr,
          f"no PKI: exit 1 with a message ({r.stderr.strip()!r})")
    pki = os.path.join(tmp, "pki")
    subprocess.run([smdp, "pki", "init", "--dir", pki, "--host", "localhost"], check=True,
                   stdout=subprocess.DEVNULL)
    proc = subprocess.Popen([smdp, "serve", "--state-dir", os.path.join(tmp, "state"),
                             "--listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key,
                             "--pki-dir", pki],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    check(line.startswith("smdp: ready https://127.0.0.1:") and "port=" in line, "ready line: " + line)
    port = int(line.rsplit("port=", 1)[1]) if "port=" in line else 0
    check(port > 0, "a free port was bound")
    check(os.path.exists(os.path.join(tmp, "state", "smdp.db")), "SQLite file created")

    ctx = ssl.create_default_context(cafile=cert)

    def call(method, path, body=None, headers=None):
        c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        info = (c.sock.version(), c.sock.cipher()[0])
        c.close()
        return r, data, info

    path = "/gsma/rsp2/es9plus/initiateAuthentication"
    r, data, tls = call("POST", path, b"{}", {"Content-Type": "application/json",
                                              "X-Admin-Protocol": "gsma/rsp/v2.2.0"})
    check(tls == ("TLSv1.3", "TLS_AES_128_GCM_SHA256"), f"TLS 1.3 with AES-128-GCM ({tls})")
    check(r.status == 200, f"a request without its members answers 200 ({r.status})")
    body = json.loads(data)
    st = body["header"]["functionExecutionStatus"]
    check(st["status"] == "Failed" and st["statusCodeData"]["subjectCode"] == "1.6"
          and st["statusCodeData"]["reasonCode"] == "2.2"
          and "smdpAddress is missing" in st["statusCodeData"]["message"],
          f"coded JSON status names the missing member ({st})")
    check(line.endswith(f"address=localhost:{port} port={port}"), "ready line names the address")
    check(r.getheader("X-Admin-Protocol", "").startswith("gsma/rsp/v2."), "X-Admin-Protocol v2 answered")
    r, _, _ = call("GET", path)
    check(r.status == 405 and r.getheader("Allow") == "POST", "GET gives 405 with Allow: POST")
    r, _, _ = call("POST", "/gsma/rsp2/es9plus/noSuchFunction", b"{}")
    check(r.status == 404, "unknown path gives 404")
    # a 10 MB body is refused from its Content-Length, before the body is sent
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    c.putrequest("POST", path)
    c.putheader("Content-Type", "application/json")
    c.putheader("Content-Length", str(10 * 1024 * 1024))
    c.endheaders()
    r = c.getresponse()
    check(r.status == 413, f"10 MB body gives 413 before it is read ({r.status})")
    c.close()
    # a chunked body over the cap is cut off with 413 too
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    c.request("POST", path, body=iter([b"x" * 65536] * 5), encode_chunked=True,
              headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
    r = c.getresponse()
    check(r.status == 413, f"320 KB chunked body gives 413 ({r.status})")
    c.close()

    tls12 = ssl.create_default_context(cafile=cert)
    tls12.maximum_version = ssl.TLSVersion.TLSv1_2
    c = http.client.HTTPSConnection("127.0.0.1", port, context=tls12, timeout=10)
    c.request("POST", path, b"{}")
    c.getresponse().read()
    check(c.sock.cipher()[0] == "ECDHE-ECDSA-AES128-GCM-SHA256", "TLS 1.2 picks ECDHE-ECDSA-AES128-GCM-SHA256")
    c.close()

    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = -1
    err = proc.stderr.read()
    check(rc == 0, f"SIGTERM stops it cleanly (exit {rc})")
    check("AddressSanitizer" not in err and "runtime error" not in err, "no sanitizer report")

print(f"1..{n}")
sys.exit(1 if failures else 0)
