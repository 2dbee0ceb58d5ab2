#!/usr/bin/env python3
"""Integration: the lpa CLI (issue 5 item 4) against the real smdp binary over HTTPS.
A generated test PKI, profiles made by profilegen batch and imported with the admin CLI, orders with activation
codes; then download, refusals with the SM-DP+'s code and exit 3, a confirmation code, a
stopped download cancelled from a second run, profiles and notifications, usage errors."""
import os
import re
import subprocess
import sys
import tempfile

smdp, lpa, profilegen = sys.argv[1], sys.argv[2], sys.argv[3]
shared = os.environ.get("SMDP_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
failures = 0
n = 0


def check(cond, what):
    global failures, n
    n += 1
    print(("ok" if cond else "not ok") + f" {n} - {what}")
    if not cond:
        failures += 1


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=120, **kw)


with tempfile.TemporaryDirectory() as tmp:
    pki, state = os.path.join(tmp, "pki"), os.path.join(tmp, "state")
    run(smdp, "pki", "init", "--dir", pki, "--host", "localhost").check_returncode()
    proc = subprocess.Popen([smdp, "serve", "--state-dir", state, "--listen", "127.0.0.1:0",
                             "--tls-cert", os.path.join(pki, "dptls-cert.pem"),
                             "--tls-key", os.path.join(pki, "dptls-key.pem"), "--pki-dir", pki],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline().strip()
    m = re.search(r"address=(\S+) port=(\d+)$", line)
    check(m is not None, "server ready: " + line)
    address = m.group(1) if m else "localhost:0"
    # the TS.48 packages all carry one ICCID: four profiles of our own instead
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    batch = os.path.join(tmp, "batch")
    r = run(profilegen, "batch", os.path.join(root, "config", "profiles", "operator-milenage.yaml"),
            "-n", "4", "--iccid", "894944000000002000", "--imsi", "262019000002000", "-d", batch,
            "--csv", os.path.join(tmp, "batch.csv"))
    check(r.returncode == 0, f"profilegen batch ({r.stderr.strip()[-200:]})")
    r = run(smdp, "profile", "import", "--state-dir", state, "--type", "t", batch)
    check(r.returncode == 0 and "4 imported, 0 failed" in r.stdout, f"import: {r.stdout.strip()[-60:]}")
    def order(*extra):
        r = run(smdp, "order", "create", "--state-dir", state, "--type", "t", "--address", address, *extra)
        ac = re.search(r"activation_code: (\S+)", r.stdout)
        iccid = re.search(r"iccid: (\d+)", r.stdout)
        return (ac.group(1) if ac else ""), (iccid.group(1) if iccid else "")

    euicc = ["--cacert", os.path.join(pki, "ci-cert.pem"), "--euicc-state", os.path.join(tmp, "euicc.state"),
             "--euicc-cert", os.path.join(pki, "euicc-cert.pem"), "--euicc-key", os.path.join(pki, "euicc-key.pem"),
             "--eum-cert", os.path.join(pki, "eum-cert.pem"), "--ci", os.path.join(pki, "ci-cert.pem")]

    ac, iccid = order()
    r = run(lpa, *euicc, "download", ac)
    check(r.returncode == 0 and f"iccid {iccid}" in r.stdout, f"download {ac} installs {iccid} ({r.returncode})")
    check("transactionId " in r.stdout, "prints the transactionId")
    r = run(smdp, "profile", "show", "--state-dir", state, iccid)
    check("state: Installed" in r.stdout, "the SM-DP+ has it Installed")
    r = run(lpa, *euicc, "download", ac)
    check(r.returncode == 3 and "lpa: refused by the SM-DP+: 8.2.6/3.8" in r.stderr,
          f"the same code again: exit 3 with 8.2.6/3.8 ({r.returncode}, {r.stderr.strip().splitlines()[-1:]})")

    # a confirmation code: wrong, then right
    ac_cc, iccid_cc = order("--cc", "9876")
    check(ac_cc.endswith("$$1"), "activation code says a confirmation code is needed")
    r = run(lpa, *euicc, "download", ac_cc, "--cc", "1111")
    check(r.returncode == 3 and "8.2.7/3.8" in r.stderr, "wrong confirmation code: 8.2.7/3.8")
    r = run(lpa, *euicc, "download", ac_cc, "--cc", "9876")
    check(r.returncode == 0 and f"iccid {iccid_cc}" in r.stdout, "right confirmation code installs")

    # a download stopped after authenticateClient, cancelled by a second run
    ac3, iccid3 = order()
    r = run(lpa, *euicc, "download", ac3, "--stop-after", "authenticate")
    check(r.returncode == 0, f"download --stop-after authenticate ({r.stderr.strip()[-200:]})")
    r = run(lpa, *euicc, "cancel", "--reason", "1")
    check(r.returncode == 0, f"cancel --reason 1 (postponed) ({r.stderr.strip()[-200:]})")
    r = run(smdp, "profile", "show", "--state-dir", state, iccid3)
    check("state: Released" in r.stdout, "postponed: the profile stays Released for a new try")

    # profiles and notifications on the eUICC
    r = run(lpa, *euicc, "profiles", "list")
    check(iccid in r.stdout and iccid_cc in r.stdout, "profiles list shows both profiles")
    r = run(lpa, *euicc, "profiles", "enable", iccid)
    check(r.returncode == 0, "profiles enable")
    r = run(lpa, *euicc, "profiles", "delete", iccid_cc)
    check(r.returncode == 0, "profiles delete")
    r = run(lpa, *euicc, "notifications", "list")
    check(r.returncode == 0 and len([l for l in r.stdout.splitlines() if l.strip()]) >= 2,
          f"notifications list: {r.stdout.strip()!r}")
    r = run(lpa, *euicc, "notifications", "send", "--all")
    check(r.returncode == 0, f"notifications send --all ({r.stderr.strip()[-200:]})")
    r = run(smdp, "profile", "show", "--state-dir", state, iccid_cc)
    check("state: Unavailable" in r.stdout, "the delete notification retired the profile")
    r = run(lpa, *euicc, "notifications", "list")
    check(r.returncode == 0 and r.stdout.strip() == "", "nothing pending afterwards")

    # usage and transport errors
    r = run(lpa, "--help")
    check(r.returncode == 0 and "download" in r.stdout, "--help")
    r = run(lpa, *euicc, "download", "not-an-activation-code")
    check(r.returncode == 2, f"a malformed activation code is a usage error ({r.returncode})")
    r = run(lpa, "frobnicate")
    check(r.returncode == 2, "an unknown command is a usage error")
    r = run(lpa, *euicc, "download", "LPA:1$localhost:1$X")
    check(r.returncode == 1, f"nobody listening: exit 1 ({r.returncode})")

    proc.terminate()
    check(proc.wait(timeout=10) == 0, "server stops cleanly")

print(f"1..{n}")
sys.exit(1 if failures else 0)
