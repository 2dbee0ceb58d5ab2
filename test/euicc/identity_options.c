/* Command-line options for a test eUICC identity (euicc-pipe, the test LPA).
 * Issue 5 item 3; identity.h (SGP.22 4.5, download-path.md 6.1, 3.2). */
#include "test/euicc/identity_options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pki/base/codec.h"

const char dp_euicc_identity_options_help[] =
    "  --sgp26 DIR         SGP.26 test PKI folder (default $SMDP_SHARED/sgp26)\n"
    "  --curve nist|brainpool  which SGP.26 eUICC (default nist)\n"
    "  --euicc-cert F --euicc-key F --eum-cert F  another identity (PEM or DER); an\n"
    "                      expired CERT.EUICC is made with `smdp pki issue euicc\n"
    "                      --not-after <past>` (see test/lpa/README.md)\n"
    "  --ci F              trust this CI (repeatable; with --euicc-cert; the first is\n"
    "                      also announced for signing)\n"
    "  --eid EID           report this EID instead of the certificate's (wrong-EID fault)\n"
    "  --svn X.Y.Z         SVN in EUICCInfo1/2 (default 2.2.0)\n"
    "  --info2-extra HEX   raw TLVs appended to EUICCInfo2 (v3 / SGP.32 members)\n"
    "  --free-memory N     free NVM in bytes (EUICCInfo2; larger profiles are refused\n"
    "                      with insufficient memory, default 526302)\n"
    "  --fault NAME        bad-signature | wrong-tid | skip-server-checks |\n"
    "                      ignore-cc-flag (repeatable)\n";

int dp_euicc_identity_option(struct dp_euicc_identity_options *o, const char *name,
			     const char *value)
{
	/* Option name -> the string field it fills. */
	const struct {
		const char *name;
		const char **field;
	} strings[] = {
	    {"--sgp26", &o->sgp26},
	    {"--curve", &o->curve},
	    {"--euicc-cert", &o->euicc_cert},
	    {"--euicc-key", &o->euicc_key},
	    {"--eum-cert", &o->eum_cert},
	    {"--eid", &o->eid},
	    {"--svn", &o->svn},
	    {"--info2-extra", &o->extra},
	    {"--free-memory", &o->free_memory},
	};
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		if (strcmp(name, strings[i].name) == 0) {
			*strings[i].field = value;
			return 1;
		}
	}
	if (strcmp(name, "--ci") == 0) {
		if (o->n_ci == DP_EUICC_OPTIONS_CI_MAX)
			return dp_err_set(DP_ERR_USAGE, "more than %d --ci",
					  DP_EUICC_OPTIONS_CI_MAX);
		o->ci[o->n_ci++] = value;
		return 1;
	}
	if (strcmp(name, "--fault") != 0)
		return 0;
	if (strcmp(value, "bad-signature") == 0)
		o->faults |= DP_EUICC_FAULT_BAD_SIGNATURE;
	else if (strcmp(value, "wrong-tid") == 0)
		o->faults |= DP_EUICC_FAULT_WRONG_TID_ECHO;
	else if (strcmp(value, "skip-server-checks") == 0)
		o->faults |= DP_EUICC_FAULT_SKIP_SERVER_CHECKS;
	else if (strcmp(value, "ignore-cc-flag") == 0)
		o->faults |= DP_EUICC_FAULT_IGNORE_CC_FLAG;
	else
		return dp_err_set(DP_ERR_USAGE, "unknown fault %s", value);
	return 1;
}

/* The adjustments after loading: EID, SVN, EUICCInfo2 extras, free memory, faults. */
static int adjust(const struct dp_euicc_identity_options *o, struct dp_euicc_identity *id)
{
	int r;
	if (o->eid != NULL && (r = dp_euicc_identity_set_eid(id, o->eid)) != DP_OK)
		return dp_err_wrap(DP_ERR_USAGE, "--eid %s: ", o->eid);
	if (o->svn != NULL) {
		unsigned a, b, c;
		char tail;
		if (sscanf(o->svn, "%u.%u.%u%c", &a, &b, &c, &tail) != 3 || a > 255 || b > 255 ||
		    c > 255)
			return dp_err_set(DP_ERR_USAGE, "--svn %s", o->svn);
		dp_euicc_identity_set_svn(id, (uint8_t)a, (uint8_t)b, (uint8_t)c);
	}
	if (o->extra != NULL) {
		uint8_t raw[DP_EUICC_INFO2_EXTRA_MAX];
		size_t n;
		if ((r = dp_hex_decode(o->extra, strlen(o->extra), raw, sizeof(raw), &n)) !=
			DP_OK ||
		    (r = dp_euicc_identity_add_info2_extra(id, raw, n)) != DP_OK)
			return dp_err_wrap(DP_ERR_USAGE, "--info2-extra: ");
	}
	if (o->free_memory != NULL) {
		char *end;
		errno = 0;
		unsigned long long n = strtoull(o->free_memory, &end, 10);
		if (errno != 0 || *end != '\0' || o->free_memory[0] < '0' ||
		    o->free_memory[0] > '9' || n > UINT32_MAX)
			return dp_err_set(DP_ERR_USAGE, "--free-memory %s", o->free_memory);
		dp_euicc_identity_set_free_memory(id, (uint32_t)n);
	}
	dp_euicc_identity_set_faults(id, o->faults);
	return DP_OK;
}

int dp_euicc_identity_from_options(const struct dp_euicc_identity_options *o,
				   struct dp_euicc_identity **out)
{
	struct dp_euicc_identity *id = NULL;
	int r;
	*out = NULL;
	if ((o->euicc_cert != NULL) != (o->euicc_key != NULL) ||
	    (o->euicc_cert != NULL) != (o->eum_cert != NULL))
		return dp_err_set(DP_ERR_USAGE,
				  "--euicc-cert, --euicc-key and --eum-cert go together");
	if (o->euicc_cert != NULL) {
		if ((r = dp_euicc_identity_load(o->euicc_cert, o->euicc_key, o->eum_cert, &id)) !=
		    DP_OK)
			goto out;
		for (size_t i = 0; i < o->n_ci; i++)
			if ((r = dp_euicc_identity_add_ci(id, o->ci[i], i == 0)) != DP_OK)
				goto out;
	} else {
		char dir[1024];
		enum dp_curve curve = DP_CURVE_NIST_P256;
		if (o->curve != NULL && dp_curve_parse(o->curve, &curve) != DP_OK) {
			r = dp_err_set(DP_ERR_USAGE, "--curve %s", o->curve);
			goto out;
		}
		const char *sgp26 = o->sgp26;
		if (sgp26 == NULL) {
			const char *shared = getenv("SMDP_SHARED");
			snprintf(dir, sizeof(dir), "%s/sgp26",
				 shared != NULL ? shared : "../shared");
			sgp26 = dir;
		}
		if ((r = dp_euicc_identity_load_sgp26(sgp26, curve, &id)) != DP_OK)
			goto out;
	}
	if ((r = adjust(o, id)) != DP_OK)
		goto out;
	*out = id;
	id = NULL;
	r = DP_OK;
out:
	dp_euicc_identity_free(id);
	return r;
}
