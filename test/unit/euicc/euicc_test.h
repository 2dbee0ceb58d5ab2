/* Helpers shared by the test eUICC suites: the SGP.26 identities and a server side that
 * builds signed ES10 requests with the SGP.26 SM-DP+ keys. */
#ifndef DP_TEST_UNIT_EUICC_TEST_H
#define DP_TEST_UNIT_EUICC_TEST_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "pki/base/buf.h"
#include "pki/crypto/cert.h"
#include "test/euicc/identity.h"

/* A fixed clock inside every SGP.26 validity period (2026-01-01). */
#define EUICC_TEST_TIME ((time_t)1767225600)

/* The SGP.26 test eUICC on curve (fails the test when the files are missing). */
struct dp_euicc_identity *euicc_test_identity(enum dp_curve curve);
/* An SGP.26 SM-DP+ certificate and key: dir "DPauth" or "DPpb", name "DPauth" / "DPpb". */
void euicc_test_server(const char *dir, const char *name, enum dp_curve curve,
		       struct dp_cert **cert, EVP_PKEY **key);
/* The SKI of an SGP.26 CI. */
void euicc_test_ci_ski(enum dp_curve curve, struct dp_ci_ski *ski);

/* What goes into an AuthenticateServerRequest. */
struct euicc_test_auth {
	uint8_t tid[16];
	size_t tid_len;
	uint8_t challenge[16];       /* the echo of the eUICC's challenge */
	const char *address;
	uint8_t server_challenge[16];
	const uint8_t *ci_pkid;      /* euiccCiPKIdToBeUsed; NULL: leave it out (v3) */
	size_t ci_pkid_len;
	const struct dp_cert *cert;  /* serverCertificate */
	EVP_PKEY *key;               /* signs serverSigned1 */
	int corrupt_signature;
};

/* The ctxParams1 every request carries: A0 { 80 "23", A1 { 80 35550607, A1 {} } }. */
extern const uint8_t euicc_test_ctx_params[16];

/* Appends BF38 { serverSigned1, 5F37 sig, [04 ciPKId], cert, ctxParams1 } to out. */
void euicc_test_auth_request(const struct euicc_test_auth *a, struct dp_buf *out);

#endif
