/* The fixture of the ES9+ handler fuzz target (fuzz_es9_functions.c) and of its seed
 * generator (gen_es9_functions.c): an SM-DP+ on the published GSMA SGP.26 keys
 * (../shared/sgp26, found through SMDP_SHARED) with a temp order book holding one ES9+
 * session in each stage under fixed transactionIds and challenges, so that requests
 * signed once with the SGP.26 eUICC key stay valid from run to run (SGP.22 5.6, 6.5.2;
 * download-path.md 5.1). Test code only. */
#ifndef DP_TEST_FUZZ_ES9_FUNCTIONS_FIXTURE_H
#define DP_TEST_FUZZ_ES9_FUNCTIONS_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "smdp/config.h"
#include "smdp/es9.h"

#define ES9F_ADDRESS	  "testsmdpplus1.example.com"
#define ES9F_SMDP_OID_DER "\x88\x37\x0A" /* 2.999.10, the SGP.26 SM-DP+ OID */

/* The sessions, by stage; each has its own order (matching ID "FUZZ-<n>", n = index+1)
 * and profile. */
enum es9f_session { ES9F_INITIATED, ES9F_AUTHENTICATED, ES9F_BOUND, ES9F_SESSIONS };

extern const uint8_t es9f_tid[ES9F_SESSIONS][16];
extern const uint8_t es9f_server_challenge[16];
extern const uint8_t es9f_euicc_challenge[16];
/* The smdpSignature2 TLV stored with the authenticated and bound sessions (never verified
 * by the server; the eUICC's euiccSignature2 covers it). */
extern const uint8_t es9f_smdp_signature2[67];

/* The five functions, in the order the fuzz input's first byte picks them (byte % 5). */
extern const char *const es9f_functions[5];

struct es9f {
	char dir[64];
	char pristine[96], work[96]; /* the order book as set up, and the copy in use */
	struct dp_config cfg;
	struct dp_smdp smdp; /* smdp.db is open only between es9f_reset and es9f_close_db */
};

/* Builds the whole fixture (DP_OK, or an error with its detail). */
int es9f_setup(struct es9f *f);
/* A fresh copy of the pristine order book, opened as f->smdp.db. */
int es9f_reset(struct es9f *f);
void es9f_close_db(struct es9f *f);
void es9f_teardown(struct es9f *f);

/* Adds an Available copy of the SAIP package upp (e.g. TS.48 A) to db with the ICCID made
 * from `serial` (8949449 + 11 digits + Luhn), its metadata (SP name `spn`, class, PPR
 * bits) and type; iccid receives the ICCID. For the suites that need profiles of their own. */
int es9f_profile_add(struct dp_db *db, const uint8_t *upp, size_t upp_len, unsigned serial,
		     const char *type, const char *spn, int profile_class, uint8_t ppr,
		     char iccid[21]);

/* The DER member each function's body carries (euiccInfo1, authenticateServerResponse, ...). */
extern const char *const es9f_members[5];

/* A whole request body around der for function fn: the member above as base64, with the
 * transactionId of session `session` (functions that take one), or for
 * initiateAuthentication our address and the fixture's euiccChallenge. */
int es9f_wrap(unsigned fn, enum es9f_session session, const uint8_t *der, size_t len,
	      struct dp_buf *body);

/* Runs one call of es9f_functions[fn] with body; *status receives the HTTP status and
 * result (may be NULL) the response body (NUL-terminated). Returns the handler's result. */
int es9f_call(struct es9f *f, unsigned fn, const uint8_t *body, size_t len, unsigned *status,
	      struct dp_buf *result);

#endif
