/* Fuzz target: certificate loading from DER or PEM bytes (dp_cert_from_der/_from_pem) and
 * every getter and single-certificate check on what loads; the key-less parse
 * (dp_cert_from_der_nokey) must give the same verdicts as dp_cert_from_der. */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <openssl/evp.h>

#include "pki/crypto/cert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(struct dp_cert *c)
{
	char buf[128], eid[DP_CERT_EID_DIGITS + 1];
	const uint8_t *p;
	size_t n;

	for (enum dp_cert_role r = DP_CERT_ANY; r <= DP_CERT_OPERATOR; r++)
		(void)!dp_cert_check_role(c, r);
	(void)!dp_cert_eid(c, eid);
	(void)!dp_cert_san_oid(c, buf, sizeof(buf));
	dp_cert_subject(c, buf, sizeof(buf));
	(void)!dp_cert_ski(c, &p, &n);
	(void)!dp_cert_aki(c, &p, &n);
	(void)!dp_cert_check_time(c, (time_t)1700000000);
	(void)!dp_cert_check_issued_by(c, c);
	(void)!dp_cert_check_eid_range(c, c, "89049032123451234512345678901235");
	(void)!dp_cert_check_eid_range(c, NULL, "89049032123451234512345678901235");
	if (dp_cert_der(c, &n) == NULL || n == 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_cert *c = NULL, *k = NULL;
	int r = dp_cert_from_der(data, size, &c);
	if (dp_cert_from_der_nokey(data, size, &k) != r)
		abort(); /* the two parses disagree */
	if (r == DP_OK) {
		exercise(c);
		exercise(k);
		if (dp_cert_check_issued_by(c, c) != dp_cert_check_issued_by(k, k) ||
		    dp_cert_check_role(c, DP_CERT_EUICC) != dp_cert_check_role(k, DP_CERT_EUICC) ||
		    EVP_PKEY_eq(dp_cert_pubkey(c), dp_cert_pubkey(k)) != 1)
			abort();
		dp_cert_free(c);
		dp_cert_free(k);
	} else if (c != NULL || k != NULL) {
		abort(); /* no result on failure */
	}
	if (dp_cert_from_pem((const char *)data, size, &c) == DP_OK) {
		exercise(c);
		dp_cert_free(c);
	}
	return 0;
}
