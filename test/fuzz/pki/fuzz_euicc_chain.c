/* Fuzz target: the AuthenticateClient chain check (dp_ci_store_verify_euicc) on certificates
 * from outside. Input: 2-byte big-endian length of CERT.EUICC, CERT.EUICC, then CERT.EUM.
 * The store holds one CI whose private key is the fixed scalar below (SHA-256 of
 * "smdp fuzz CI" mod n), so seeds made by make_corpus.sh under that key get past the
 * signature checks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pki/base/log.h"
#include "pki/crypto/cert.h"
#include "pki/crypto/kdf.h"
#include "pki/crypto/testpki.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t ci_scalar[32] = {
	0x82, 0x0e, 0x68, 0xa8, 0x19, 0x77, 0xaa, 0x23, 0xaa, 0xe1, 0x93, 0x3d, 0xa8, 0x24, 0xe4,
	0x14, 0xfb, 0xd6, 0xc4, 0xd0, 0x56, 0x0b, 0x9f, 0x17, 0xd2, 0x6b, 0x68, 0xf6, 0x72, 0x33,
	0xe9, 0xdf,
};

static struct dp_ci_store *store;

static void init(void)
{
	EVP_PKEY *key = NULL;
	struct dp_cert *ci = NULL;
	struct dp_testpki_req q = { .role = DP_CERT_CI };

	dp_log_set_level(DP_LOG_PKI, DP_LOG_WARN);
	if (dp_kdf_import_private(DP_CURVE_NIST_P256, ci_scalar, &key) != DP_OK)
		abort();
	q.key = key;
	if (dp_testpki_issue(&q, NULL, NULL, &ci, NULL) != DP_OK ||
	    dp_ci_store_new(&store) != DP_OK || dp_ci_store_add_ci_take(store, ci) != DP_OK)
		abort();
	EVP_PKEY_free(key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_cert_chain chain;
	if (store == NULL)
		init();
	if (size < 2)
		return 0;
	size_t n = (size_t)data[0] << 8 | data[1];
	if (n > size - 2)
		n = size - 2;
	int r = dp_ci_store_verify_euicc(store, data + 2, n, data + 2 + n, size - 2 - n, NULL, 0,
					 (time_t)1900000000, &chain);
	if ((r == DP_OK) != (chain.euicc != NULL))
		abort();
	if (r == DP_OK && dp_cert_eid_valid(chain.eid) != DP_OK)
		abort();
	dp_cert_chain_deinit(&chain);
	return 0;
}
