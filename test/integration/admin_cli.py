#!/usr/bin/env python3
"""Integration: the smdp admin commands as an operator runs them, on a temp state folder.
Imports TS.48 DER packages (from $SMDP_SHARED) and the example profilegen YAML, creates
orders (by ICCID, by type with a confirmation code, pool, default SM-DP+) and checks the
activation codes printed, a QR code on the terminal and a PNG file (signature, chunk CRCs,
IHDR size), lists, show, reset/retire, the configuration's smdp_address, and bad arguments
(exit 2 with a message). A real `profilegen batch` of 5 imported with its operator CSV
(`import --csv`): refused whole on a wrong IMSI, a row without its package, a malformed
line; then imported and listed by owner and type; its keys never printed or stored."""
import os
import re
import struct
import subprocess
import sys
import tempfile
import zlib

smdp = sys.argv[1]
profilegen = sys.argv[2]
shared = os.environ.get("SMDP_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
yaml_profile = os.path.join(root, "config", "profiles", "operator-milenage.yaml")
EID = "89049032123451234512345678901235"
failures = 0
n = 0


def check(cond, what):
    global failures, n
    n += 1
    print(("ok" if cond else "not ok") + f" {n} - {what}")
    if not cond:
        failures += 1


def run(*args):
    return subprocess.run([smdp, *args], capture_output=True, text=True, timeout=60)


def one(text):
    """Output as one TAP-safe line."""
    return text.strip().replace("\n", " | ")


def fields(out):
    """'key: value' lines of order create."""
    d = {}
    for line in out.splitlines():
        m = re.match(r"^([a-z_]+): (.*)$", line)
        if m:
            d[m.group(1)] = m.group(2)
    return d


AC = re.compile(r"^LPA:1\$([^$]+)\$([0-9A-Z]{5}(?:-[0-9A-Z]{5}){3})(\$\$1)?$")

with tempfile.TemporaryDirectory() as tmp:
    st = os.path.join(tmp, "state")
    S = ["--state-dir", st]

    r = run("profile", "--help")
    check(r.returncode == 0 and "import FILE" in r.stdout, "profile --help")
    r = run("order", "create", "--help")
    check(r.returncode == 0 and "--matching-id" in r.stdout and "--png" in r.stdout, "order create --help")
    r = run("profile")
    check(r.returncode == 2, "profile without a command exits 2")
    r = run("help")
    check(r.returncode == 0 and "profile" in r.stdout and "order" in r.stdout and "session" in r.stdout,
          "smdp help names the admin commands")

    # nothing imported yet: listing a missing database fails (no new empty one)
    r = run("profile", "list", *S)
    check(r.returncode == 1 and "no database" in r.stderr, "list without a database: exit 1, " + r.stderr.strip())
    check(not os.path.exists(st), "no state folder created by a listing")

    # import: one DER, then the whole TS.48 folder (two distinct ICCIDs, the rest duplicates)
    r = run("profile", "import", os.path.join(shared, "ts48", "TS48v1_A.der"), "--type", "ts48", *S)
    check(r.returncode == 0 and "imported 89000123456789012341" in r.stdout, "DER import: " + r.stdout.strip())
    r = run("profile", "import", os.path.join(shared, "ts48"), "--type", "ts48", "--owner", "gsma", *S)
    check(r.returncode == 1, "folder with duplicates exits 1")
    check("imported 89000123456789012358" in r.stdout, "the other ICCID of the folder is imported")
    dup = [l for l in r.stderr.splitlines() if "89000123456789012341" in l]
    check(len(dup) == 5 and all(".der" in l for l in dup), "each duplicate is reported with its file and ICCID")
    check("1 imported, 5 failed" in r.stdout, "summary line: " + r.stdout.strip().splitlines()[-1])

    # YAML, pre-protected, with metadata options
    r = run("profile", "import", yaml_profile, "--type", "op", "--ppk", "--class", "test", *S)
    check(r.returncode == 0 and "imported 8949440000000000016" in r.stdout, "YAML import with --ppk: " + r.stdout.strip())
    # a bad file imports nothing of itself, the good one in the same call still goes in
    bad = os.path.join(tmp, "bad.der")
    open(bad, "wb").write(open(os.path.join(shared, "ts48", "TS48v1_A.der"), "rb").read()[:500])
    badyaml = os.path.join(tmp, "bad.yaml")
    open(badyaml, "w").write("elements:\n  - header: {iccid: 'nope'}\n")
    r = run("profile", "import", bad, badyaml, *S)
    check(r.returncode == 1 and "bad.der" in r.stderr and "bad.yaml" in r.stderr, "bad files named: " + r.stderr.strip())
    r = run("profile", "import", "--class", "prod", bad, *S)
    check(r.returncode == 2 and "--class" in r.stderr, "bad --class exits 2")
    r = run("profile", "import", *S)
    check(r.returncode == 2 and "no FILE" in r.stderr, "import without files exits 2")

    r = run("profile", "list", *S)
    lines = r.stdout.splitlines()
    check(r.returncode == 0 and len(lines) == 4 and lines[0].startswith("ICCID"), "list: header + 3 profiles")
    check(any("89000123456789012341" in l and "ts48" in l and "Available" in l for l in lines), "list line of a DER profile")
    r = run("profile", "list", "--type", "op", *S)
    check(len(r.stdout.splitlines()) == 2 and "8949440000000000016" in r.stdout, "list --type op")
    r = run("profile", "list", "--state", "Released", *S)
    check(r.returncode == 0 and len(r.stdout.splitlines()) == 1, "list --state Released: none yet")
    r = run("profile", "list", "--state", "Bogus", *S)
    check(r.returncode == 2 and "--state" in r.stderr, "list --state Bogus exits 2")

    # bad order arguments: exit 2 and a message, nothing written
    for args, want in [((), "--iccid"),
                       (("--iccid", "89000123456789012341", "--type", "ts48"), "exactly one"),
                       (("--iccid", "1234"), "--iccid"),
                       (("--type", "ts48", "--matching-id", "lower-case"), "matching ID"),
                       (("--type", "ts48", "--matching-id", "A" * 65), "1..64"),
                       (("--type", "ts48", "--eid", "1234"), "--eid"),
                       (("--type", "ts48", "--eid", EID[:-1] + "0", "--address", "a.b"), "--eid"),
                       (("--type", "ts48", "--matching-id", ""), "--eid"),
                       (("--iccid", "89000123456789012341", "--pool"), "--pool"),
                       (("--type", "ts48"), "--address"),
                       (("--type", "ts48", "--address", "bad host"), "--address"),
                       (("--type", "ts48", "--address", "a.b", "--expires", "-1"), "--expires"),
                       (("--type", "ts48", "--address", "a.b", "--max-attempts", "0"), "--max-attempts"),
                       (("--type", "ts48", "--address", "a.b", "--qr=svg"), "--qr"),
                       (("--type", "ts48", "--address", "a.b", "--bogus"), "bad option"),
                       (("--type", "ts48", "--address", "a.b", "extra"), "unexpected")]:
        r = run("order", "create", *args, *S)
        check(r.returncode == 2 and want in r.stderr, f"order create {' '.join(args)!r}: exit 2, {want!r} in {r.stderr.strip()!r}")
    r = run("profile", "list", "--state", "Available", *S)
    check(len(r.stdout.splitlines()) == 4, "refused orders changed nothing")

    # by ICCID: a generated matching ID, the activation code
    r = run("order", "create", "--iccid", "89000123456789012341", "--address", "smdp.example.com", *S)
    f = fields(r.stdout)
    m = AC.match(f.get("activation_code", ""))
    check(r.returncode == 0 and m is not None and m.group(1) == "smdp.example.com" and not m.group(3),
          "activation code printed: " + f.get("activation_code", r.stderr))
    check(m is not None and f.get("matching_id") == m.group(2), "matching ID line equals the code's")
    check(f.get("iccid") == "89000123456789012341", "the ICCID chosen is printed")
    # the same profile again: not Available
    r = run("order", "create", "--iccid", "89000123456789012341", "--address", "smdp.example.com", *S)
    check(r.returncode == 1 and "Released" in r.stderr, "a second order for a Released profile fails: " + r.stderr.strip())

    # by type, with a confirmation code, QR on the terminal and a PNG
    png = os.path.join(tmp, "ac.png")
    r = run("order", "create", "--type", "ts48", "--cc", "7391", "--address", "smdp.example.com:8443",
            "--matching-id", "SHOP-0001", "--qr=ascii", "--png", png, "--expires", "3600", *S)
    f = fields(r.stdout)
    check(r.returncode == 0 and f.get("activation_code") == "LPA:1$smdp.example.com:8443$SHOP-0001$$1",
          "given matching ID, CC flag: " + f.get("activation_code", r.stderr))
    check(f.get("iccid") == "89000123456789012358", "by type: the other TS.48 profile")
    check(f.get("confirmation_code") == "required" and f.get("expires", "-") != "-", "CC and expiry shown")
    qr = [l for l in r.stdout.splitlines() if set(l) <= {"#", " "} and len(l) > 40]
    check(len(qr) >= 29 and all(len(l) == len(qr[0]) for l in qr) and any("#" in l for l in qr),
          f"ASCII QR code printed ({len(qr)} lines)")
    data = open(png, "rb").read() if os.path.exists(png) else b""
    check(data[:8] == b"\x89PNG\r\n\x1a\n", "PNG signature")
    ok_chunks, chunks, off = True, [], 8
    while off + 12 <= len(data):
        ln, typ = struct.unpack(">I4s", data[off:off + 8])
        body = data[off + 8:off + 8 + ln]
        crc = struct.unpack(">I", data[off + 8 + ln:off + 12 + ln])[0]
        ok_chunks &= zlib.crc32(typ + body) == crc
        chunks.append((typ, body))
        off += 12 + ln
    check(ok_chunks and [c[0] for c in chunks] == [b"IHDR", b"IDAT", b"IEND"] and off == len(data), "PNG chunks and CRCs")
    if chunks:
        w, h, depth, colour = struct.unpack(">IIBB", chunks[0][1][:10])
        check(w == h and w == int(f.get("png", "x (0x0)").split("(")[1].split("x")[0]) and w >= 29 * 8,
              f"IHDR size {w}x{h} as printed ({f.get('png')})")
        check(depth == 1 and colour == 0, "1-bit greyscale")
        raw = zlib.decompress(chunks[1][1])
        check(len(raw) == h * ((w + 7) // 8 + 1), "IDAT inflates to the image rows")
        # the quiet zone (first 4 modules = 32 rows) is white
        stride = (w + 7) // 8 + 1
        check(all(raw[y * stride + 1:(y + 1) * stride].strip(b"\xff") in (b"", bytes([raw[(y + 1) * stride - 1]]))
                  for y in range(32)), "quiet zone is white")
    # the matching ID is taken while that order is open
    r = run("order", "create", "--type", "ts48", "--matching-id", "SHOP-0001", "--address", "a.b", *S)
    check(r.returncode == 1, "no Available ts48 left (or matching ID taken): exit 1")

    # the configuration's smdp_address; --config and --state-dir together
    cfg = os.path.join(tmp, "smdp.yaml")
    open(cfg, "w").write(f'state_dir: "{st}"\nsmdp_address: "cfg.example.com"\norder_max_attempts: 9\n')
    r = run("profile", "retire", "8949440000000000016", "--config", cfg)
    check(r.returncode == 0 and "Unavailable" in r.stdout, "retire through --config: " + r.stdout.strip())
    r = run("profile", "reset", "8949440000000000016", "--config", cfg)
    check(r.returncode == 0 and "Available" in r.stdout, "reset: Available again")
    r = run("order", "create", "--type", "op", "--pool", "--matching-id", "POOL-OP", "--config", cfg)
    f = fields(r.stdout)
    check(r.returncode == 0 and f.get("activation_code") == "LPA:1$cfg.example.com$POOL-OP"
          and f.get("max_attempts") == "9" and "pool" in f.get("iccid", ""),
          "pool order with the configured address and defaults: " + r.stdout.replace("\n", " | "))

    # a default SM-DP+ order: no matching ID, EID required, no activation code
    r = run("profile", "import", os.path.join(shared, "ts48", "TS48v2_SAIP2.3_NoBERTLV.der"), "--type", "x", *S)
    check(r.returncode == 1 and "already" in r.stderr, "duplicate again refused")
    yaml2 = os.path.join(tmp, "second.yaml")
    text = open(yaml_profile).read().replace("894944000000000001", "894944000000000019")
    open(yaml2, "w").write(text.replace("base: ", "base: " + os.path.dirname(yaml_profile) + "/") if "base: " in text else text)
    r = run("profile", "import", yaml2, "--type", "dflt", *S)
    check(r.returncode == 0, "second YAML imported: " + (r.stdout + r.stderr).strip())
    r = run("order", "create", "--type", "dflt", "--matching-id", "", "--eid", EID, *S)
    f = fields(r.stdout)
    check(r.returncode == 0 and "activation_code" not in f and f.get("eid") == EID and "none" in f.get("matching_id", ""),
          "default SM-DP+ order: " + (r.stdout + r.stderr).replace("\n", " | "))
    r = run("order", "create", "--type", "dflt", "--matching-id", "", "--eid", EID, "--qr", *S)
    check(r.returncode == 2, "--qr without a matching ID exits 2")

    r = run("order", "list", *S)
    lines = r.stdout.splitlines()
    check(r.returncode == 0 and len(lines) == 5, f"order list: header + 4 open orders ({len(lines)} lines)")
    check(any("SHOP-0001" in l and "89000123456789012358" in l and "yes" in l for l in lines), "order line with CC")
    check(any("pool:op" in l for l in lines) and any(EID in l for l in lines), "pool and EID orders listed")

    r = run("profile", "show", "89000123456789012341", *S)
    check(r.returncode == 0 and "state: Released" in r.stdout and "admin order" in r.stdout and "import" in r.stdout,
          "show: state and history")
    r = run("profile", "show", "8949440000000000016", *S)
    check("pre-protected: yes" in r.stdout and "class: test" in r.stdout and "admin reset" in r.stdout
          and "admin retire" in r.stdout, "show: PPK, class, reset/retire history")
    r = run("profile", "show", *S)
    check(r.returncode == 2, "show without ICCID exits 2")
    r = run("profile", "show", "89000000000000000000", *S)
    check(r.returncode == 1 and "not found" in r.stderr, "show of an unknown ICCID exits 1")
    r = run("profile", "reset", "89000123456789012341", *S)
    check(r.returncode == 1 and "Released" in r.stderr, "reset of a Released profile is refused: " + r.stderr.strip())

    r = run("session", "list", *S)
    check(r.returncode == 0 and r.stdout.startswith("TRANSACTION ID"), "session list")
    r = run("session", "list", "--bogus", *S)
    check(r.returncode == 2, "session list --bogus exits 2")

    # a profilegen batch of 5 with its operator file, in a state folder of its own
    st2 = os.path.join(tmp, "state-batch")
    S2 = ["--state-dir", st2]
    bdir, bcsv = os.path.join(tmp, "batch"), os.path.join(tmp, "batch.csv")
    r = subprocess.run([profilegen, "batch", yaml_profile, "-n", "5", "--iccid", "894944000000000990",
                        "--imsi", "262019000000990", "-d", bdir, "--csv", bcsv],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0 and len(os.listdir(bdir)) == 5, "profilegen batch of 5: " + one(r.stderr))
    rows = open(bcsv).read().splitlines()
    iccids = [l.split(",")[0] for l in rows[1:]]
    secrets = [v for l in rows[1:] for v in l.split(",")[2:4]]  # Ki and OPc hex
    outputs = []

    def run_import(csv, *extra):
        r = run("profile", "import", "--csv", csv, bdir, "--type", "sample", "--owner", "acme", *extra, *S2)
        outputs.append(r.stdout + r.stderr)
        return r

    # a wrong IMSI on line 3: refused whole, the file and the line named
    bad = os.path.join(tmp, "batch-bad.csv")
    f3 = rows[2].split(",")
    f3[1] = "262019000000999"
    open(bad, "w").write("\n".join(rows[:2] + [",".join(f3)] + rows[3:]) + "\n")
    r = run_import(bad)
    check(r.returncode == 1 and "batch refused: 1 problem, nothing imported" in r.stdout
          and f"{iccids[1]}.der: IMSI 262019000000991, but {bad}:3 has 262019000000999" in r.stderr,
          "wrong IMSI refused: " + one(r.stdout + r.stderr))
    # a row without its package, and a malformed line: each named with its line
    extra = rows + ["8949440000000009959,262019000000995," + ",".join(rows[1].split(",")[2:])]
    open(bad, "w").write("\n".join(extra) + "\n")
    r = run_import(bad)
    check(r.returncode == 1 and f"{bad}:7: ICCID 8949440000000009959 has no package" in r.stderr,
          "row without its package refused: " + one(r.stderr))
    open(bad, "w").write("\n".join(rows[:4] + [rows[4].rsplit(",", 1)[0]] + rows[5:]) + "\n")
    r = run_import(bad)
    check(r.returncode == 1 and f"{bad}:5: 8 fields, the header has 9" in r.stderr,
          "malformed line refused with its line number: " + one(r.stderr))
    r = run("profile", "list", *S2)
    check(r.returncode == 0 and len(r.stdout.splitlines()) == 1, "refused batches imported nothing")

    # the real file: all five, then listed by owner and type
    r = run_import(bcsv)
    check(r.returncode == 0 and "5 imported, 0 failed" in r.stdout
          and all(f"imported {i} from {bdir}/{i}.der" in r.stdout for i in iccids),
          "batch imported: " + one(r.stdout + r.stderr)[-200:])
    r = run("profile", "list", "--owner", "acme", "--type", "sample", *S2)
    lines = r.stdout.splitlines()[1:]
    check(r.returncode == 0 and [l.split()[0] for l in lines] == iccids
          and all(l.split()[1:4] == ["sample", "acme", "Available"] for l in lines),
          "list --owner acme --type sample: the five, Available")
    r = run("profile", "list", "--owner", "other", *S2)
    check(len(r.stdout.splitlines()) == 1, "list --owner other: none")
    r = run("profile", "list", "--type", "sample", "--state", "Available", *S2)
    check(len(r.stdout.splitlines()) == 6, "list --type sample --state Available: five")
    r = run("profile", "show", iccids[2], *S2)
    check(r.returncode == 0 and "owner: acme" in r.stdout and "import" in r.stdout, "show a batch profile")
    # again: every ICCID is there already; nothing changes
    r = run_import(bcsv)
    check(r.returncode == 1 and "batch refused: 5 problems" in r.stdout
          and r.stderr.count("is already in the order book") == 5, "the batch again is refused")
    # the operator file's keys were never printed, nor stored as text
    check(not any(k in o for k in secrets for o in outputs), "no Ki or OPc in any output")
    stored = b"".join(open(os.path.join(st2, f), "rb").read() for f in os.listdir(st2) if f.startswith("smdp.db"))
    check(not any(k.encode() in stored for k in secrets), "no Ki or OPc text in the database files")

    # orders with an owner: the profile must be the owner's; by default the profile's owner
    r = run("order", "create", "--type", "sample", "--owner", "acme", "--address", "a.b", *S2)
    f = fields(r.stdout)
    check(r.returncode == 0 and f.get("iccid") == iccids[0] and f.get("owner") == "acme",
          "order --type --owner: the owner's first profile: " + one(r.stdout + r.stderr))
    r = run("order", "create", "--type", "sample", "--owner", "other", "--address", "a.b", *S2)
    check(r.returncode == 1 and "no Available profile of type 'sample' owned by 'other'" in r.stderr,
          "order --type --owner of nobody's: " + one(r.stderr))
    r = run("order", "create", "--iccid", iccids[1], "--owner", "other", "--address", "a.b", *S2)
    check(r.returncode == 1 and f"profile {iccids[1]} is owned by 'acme', not 'other'" in r.stderr,
          "order --iccid of another owner's profile: " + one(r.stderr))
    r = run("order", "create", "--iccid", iccids[1], "--address", "a.b", *S2)
    f = fields(r.stdout)
    check(r.returncode == 0 and f.get("owner") == "acme", "order --iccid: the profile's owner by default")
    r = run("order", "create", "--type", "sample", "--pool", "--owner", "acme", "--address", "a.b", *S2)
    check(r.returncode == 2 and "--owner" in r.stderr, "--pool with --owner exits 2")
    r = run("profile", "list", "--owner", "acme", "--state", "Released", *S2)
    check([l.split()[0] for l in r.stdout.splitlines()[1:]] == iccids[:2], "two acme profiles Released")

print(f"1..{n}")
sys.exit(1 if failures else 0)
