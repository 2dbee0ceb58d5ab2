#!/usr/bin/env python3
"""profilegen CLI, the real binary: build --metadata-out (the pySim StoreMetadataRequest
vector, README's bytes), batch --csv-in (the operator file and the packages hold the CSV's
values), no progress bar when stdout/stderr are not a terminal, and a progress bar when
stderr is one (a pseudo-terminal). TAP output.
usage: cli_test.py PROFILEGEN (SMDP_TEST_DATA is set by meson)"""
import os
import pty
import subprocess
import sys
import tempfile

pg = sys.argv[1]
data = os.path.join(os.environ["SMDP_TEST_DATA"], "profilegen")
n = 0
failures = 0


def check(cond, what):
    global n, failures
    n += 1
    print(("ok" if cond else "not ok") + f" {n} - {what}")
    if not cond:
        failures += 1


def run(*args):
    return subprocess.run([pg, *args], capture_output=True)


with tempfile.TemporaryDirectory() as tmp:
    # --metadata-out: README's worked example (pySim's vector), byte for byte
    der, meta = os.path.join(tmp, "p.der"), os.path.join(tmp, "p.meta.der")
    r = run("build", os.path.join(data, "metadata_pysim.yaml"), "-o", der, "--metadata-out", meta)
    check(r.returncode == 0 and r.stdout == b"" and r.stderr == b"", f"build --metadata-out: {r.stderr!r}")
    want = bytes.fromhex("BF252D5A0A98001032547698103214") + b"\x91\x09GSMA_TEST" + \
        b"\x92\x11GSMA_TEST_PROFILE" + bytes.fromhex("950100")
    got = open(meta, "rb").read() if os.path.exists(meta) else b""
    check(got == want, f"metadata DER is the StoreMetadataRequest vector ({got.hex()})")
    check(os.path.getsize(der) > 0, "the package is written too")
    # a YAML without metadata: refused, nothing written
    meta2 = os.path.join(tmp, "none.meta.der")
    r = run("build", os.path.join(data, "milenage_opc.yaml"), "-o", der, "--metadata-out", meta2)
    check(r.returncode != 0 and b"has no metadata" in r.stderr and not os.path.exists(meta2),
          f"--metadata-out without metadata: exit {r.returncode}, {r.stderr!r}")

    # batch --csv-in: one profile per row, the row's values in the operator file
    # 19-digit ICCIDs with their Luhn digit (894944000000000100 + 6, ...101 + 4, ...102 + 2)
    rows = [("8949440000000001006", "262019000000100", "00112233445566778899AABBCCDDEEFF",
             "FFEEDDCCBBAA99887766554433221100", "1111", "11111111", "2222", "22222222", "33333333"),
            ("8949440000000001014", "262019000000101", "0F0E0D0C0B0A09080706050403020100",
             "000102030405060708090A0B0C0D0E0F", "4444", "44444444", "5555", "55555555", "66666666")]
    header = "ICCID,IMSI,Ki,OPc,PIN1,PUK1,PIN2,PUK2,ADM1"
    csv_in, csv_out, out = os.path.join(tmp, "in.csv"), os.path.join(tmp, "out.csv"), os.path.join(tmp, "d")
    with open(csv_in, "w") as f:
        f.write(header + "\r\n" + "".join(",".join(row) + "\r\n" for row in rows))
    tpl = os.path.join(data, "milenage_opc.yaml")
    r = run("batch", tpl, "--csv-in", csv_in, "-d", out, "--csv", csv_out)
    check(r.returncode == 0, f"batch --csv-in: exit {r.returncode}, {r.stderr!r}")
    check(r.stdout == b"" and r.stderr == b"", "no progress bar or other output off a terminal")
    lines = open(csv_out).read().splitlines() if os.path.exists(csv_out) else []
    check(lines == [header] + [",".join(row) for row in rows], f"operator file = the CSV rows: {lines}")
    for row in rows:
        p = os.path.join(out, row[0] + ".der")
        blob = open(p, "rb").read() if os.path.exists(p) else b""
        # Ki [2] and OPc [3] of the algoParameter, PIN1 as ASCII digits
        check(bytes.fromhex("8210" + row[2]) in blob and bytes.fromhex("8310" + row[3]) in blob and
              row[4].encode() + b"\xff" * 4 in blob, f"{row[0]}.der holds the row's Ki, OPc and PIN1")
        r = run("check", p)
        check(r.returncode == 0, f"check {row[0]}.der: {r.stdout!r} {r.stderr!r}")
    # a bad row names its line
    with open(csv_in, "w") as f:
        f.write(header + "\n" + ",".join(rows[0]) + "\n8949440000000001022,262019000000102,0011,,,,,,\n")
    r = run("batch", tpl, "--csv-in", csv_in, "-d", out, "--csv", csv_out)
    check(r.returncode == 1 and b"CSV line 3" in r.stderr and b"Ki must be 16 bytes" in r.stderr,
          f"bad CSV row: exit {r.returncode}, {r.stderr!r}")

    # random batch off a terminal: silent; on a terminal (stderr a pty): the progress bar
    args = ["batch", tpl, "-n", "130", "--iccid", "894944000000000200", "--imsi", "262019000000200",
            "-d", os.path.join(tmp, "r"), "--csv", os.path.join(tmp, "r.csv")]
    r = run(*args)
    check(r.returncode == 0 and r.stdout == b"" and r.stderr == b"", f"random batch silent: {r.stderr!r}")
    master, slave = pty.openpty()
    p = subprocess.Popen([pg, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    rc = p.wait()
    out_text = p.stdout.read()
    os.close(master)
    check(rc == 0 and b"130/130" in seen and b"[====" in seen and out_text == b"",
          f"progress bar on a terminal: {seen[-60:]!r}")

print(f"1..{n}")
sys.exit(1 if failures else 0)
