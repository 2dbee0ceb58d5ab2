/* The command-line options that choose and adjust a test eUICC identity, shared by
 * euicc-pipe and the test LPA (issue 5 item 3): SGP.26 or files, EID, SVN, EUICCInfo2
 * extras, free memory and deliberate faults. Parsing only; identity.h does the work. */
#ifndef DP_TEST_EUICC_IDENTITY_OPTIONS_H
#define DP_TEST_EUICC_IDENTITY_OPTIONS_H

#include <stddef.h>

#include "pki/base/error.h"
#include "test/euicc/identity.h"

#define DP_EUICC_OPTIONS_CI_MAX 8

/* Plain data carrier: the option values as given (borrowed argv strings; NULL = absent). */
struct dp_euicc_identity_options {
	const char *sgp26;	/* --sgp26 DIR (default $SMDP_SHARED/sgp26, else ../shared/sgp26) */
	const char *curve;	/* --curve nist|brainpool */
	const char *euicc_cert; /* --euicc-cert / --euicc-key / --eum-cert: another identity */
	const char *euicc_key;
	const char *eum_cert;
	const char *ci[DP_EUICC_OPTIONS_CI_MAX]; /* --ci, repeated; the first also for signing */
	size_t n_ci;
	const char *eid;	 /* --eid: report this EID (GetEID, KDF), not the certificate's */
	const char *svn;	 /* --svn X.Y.Z */
	const char *extra;	 /* --info2-extra HEX */
	const char *free_memory; /* --free-memory BYTES */
	unsigned faults;	 /* --fault NAME, repeated: DP_EUICC_FAULT_* bits */
};

/* Help text for these options (one per line, two-space indent). */
extern const char dp_euicc_identity_options_help[];

/* Offers one option and its value. 1: taken (the value is consumed); 0: not one of these
 * options; DP_ERR_USAGE (detail set) for a bad value or too many --ci. */
int dp_euicc_identity_option(struct dp_euicc_identity_options *o, const char *name,
			     const char *value) DP_WUR;
/* Loads and adjusts the identity the options describe (DP_ERR_USAGE for inconsistent or
 * malformed values, else the loader's errors). */
int dp_euicc_identity_from_options(const struct dp_euicc_identity_options *o,
				   struct dp_euicc_identity **out) DP_WUR;

#endif
