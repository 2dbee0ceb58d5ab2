#!/usr/bin/env bash
# Regenerates the seed corpora of the pki fuzz targets. Needs the smdp-pki tool (built as
# test/unit/pki/smdp-pki), openssl and python3 with `cryptography`.
#   test/fuzz/pki/make_corpus.sh BUILD_DIR
# Certificates are issued under a CI whose key is the fixed scalar of fuzz_euicc_chain.c;
# signatures are random, so a rerun changes the bytes but not what the seeds reach.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tool=${1:?build dir}/test/unit/pki/smdp-pki
vectors=$here/../../data/pki/vectors.txt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
c=$here/corpus
rm -rf "$c"
mkdir -p "$c/cert-der" "$c/ecdsa-der" "$c/scp03t-unwrap" "$c/euicc-chain"

python3 - "$tmp/ci.key" <<'PY'
import hashlib, sys
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives import serialization
n = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
k = ec.derive_private_key(int.from_bytes(hashlib.sha256(b"smdp fuzz CI").digest(), "big") % n,
                          ec.SECP256R1())
open(sys.argv[1], "wb").write(k.private_bytes(serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
PY
cd "$tmp"
"$tool" issue ci --key ci.key --out-cert ci.pem >/dev/null
"$tool" issue eum --ci-cert ci.pem --ci-key ci.key --ein 89049032 --out-cert eum.pem --out-key eum.key >/dev/null
"$tool" issue euicc --eum-cert eum.pem --eum-key eum.key --eid 89049032123451234512345678901235 \
	--out-cert euicc.pem --out-key euicc.key >/dev/null
"$tool" issue euicc --eum-cert eum.pem --eum-key eum.key --eid "$("$tool" eid --ein 89049033)" \
	--out-cert outside.pem --out-key outside.key >/dev/null
"$tool" issue dptls --ci-cert ci.pem --ci-key ci.key --host testsmdpplus1.example.com \
	--out-cert dptls.pem --out-key dptls.key >/dev/null
"$tool" issue eum --ci-cert ci.pem --ci-key ci.key --ein 8904903212 --ein-extension \
	--out-cert eum3.pem --out-key eum3.key >/dev/null
for f in ci eum euicc outside dptls eum3; do openssl x509 -in $f.pem -outform der -out $f.der; done

cp ci.der eum.der euicc.der dptls.der eum3.der "$c/cert-der/"
cp euicc.pem "$c/cert-der/euicc.pem"
head -c 200 euicc.der >"$c/cert-der/truncated.der"

pair() { # pair EUICC EUM OUT: 2-byte length of EUICC, EUICC, EUM
	python3 -c 'import sys; a=open(sys.argv[1],"rb").read(); b=open(sys.argv[2],"rb").read(); open(sys.argv[3],"wb").write(len(a).to_bytes(2,"big")+a+b)' "$@"
}
pair euicc.der eum.der "$c/euicc-chain/valid"
pair outside.der eum.der "$c/euicc-chain/eid-outside"
pair eum.der euicc.der "$c/euicc-chain/swapped"
pair euicc.der eum3.der "$c/euicc-chain/wrong-eum"
head -c 300 "$c/euicc-chain/valid" >"$c/euicc-chain/truncated"

vec() { grep "^$1 " "$vectors" | cut -d' ' -f2; }
for curve in nist brainpool; do
	for kind in plain r0 s0; do
		vec "ecdsa.$curve.$kind.der" | xxd -r -p >"$c/ecdsa-der/$curve-$kind"
	done
done
vec ecdsa.nist.plain.rs | xxd -r -p >"$c/ecdsa-der/raw-rs-64"
printf '3006020101020181' | xxd -r -p >"$c/ecdsa-der/negative-s"
printf '3007020200010201 01' | tr -d ' ' | xxd -r -p >"$c/ecdsa-der/nonminimal-r"

stream=""
for s in s1 s2 s3 s4 p1 p2 p3 p4; do stream+=$(vec "$s.tlv"); done
printf '%s' "$stream" | xxd -r -p >"$c/scp03t-unwrap/bpp-stream"
printf '%s%s' "$stream" "$(vec badpad.tlv)" | xxd -r -p >"$c/scp03t-unwrap/bad-padding-last"
vec s1.tlv | xxd -r -p >"$c/scp03t-unwrap/configure-isdp"
vec s2.tlv | xxd -r -p >"$c/scp03t-unwrap/wrong-counter"
printf '8782' | xxd -r -p >"$c/scp03t-unwrap/truncated"
echo "corpora written to $c"
