/* euicc-pipe: the test eUICC behind stdin/stdout, so that any LPA can drive it.
 * One command APDU in hex per input line; one line of response data + status word in hex
 * per APDU on stdout (issue 5 item 5; see test/euicc/README.md for a session). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pki/base/codec.h"
#include "pki/base/log.h"
#include "test/euicc/apdu.h"
#include "test/euicc/es10.h"
#include "test/euicc/identity.h"

#define LINE_MAX_CHARS 4096

static void usage(FILE *f)
{
	fputs("usage: euicc-pipe [options]  (APDUs in hex on stdin, responses on stdout)\n"
	      "  --sgp26 DIR         SGP.26 test PKI folder (default $SMDP_SHARED/sgp26)\n"
	      "  --curve nist|brainpool  which SGP.26 eUICC (default nist)\n"
	      "  --euicc-cert F --euicc-key F --eum-cert F  another identity (PEM or DER)\n"
	      "  --ci F              trust this CI (repeatable; with --euicc-cert; the first is\n"
	      "                      also announced for signing)\n"
	      "  --eid EID           report this EID instead of the certificate's\n"
	      "  --svn X.Y.Z         SVN in EUICCInfo1/2 (default 2.2.0)\n"
	      "  --info2-extra HEX   raw TLVs appended to EUICCInfo2 (v3 / SGP.32 members)\n"
	      "  --fault NAME        bad-signature | wrong-tid | skip-server-checks (repeatable)\n"
	      "  --chunk N           response bytes per APDU before 61xx (1..256, default 256)\n"
	      "  --time EPOCH        clock for certificate checks (default: now)\n"
	      "  --log SPEC          log levels to stderr (default warn)\n"
	      "Lines that are empty or start with '#' are skipped; spaces inside hex are ignored.\n",
	      f);
}

struct options {
	const char *sgp26, *curve, *euicc_cert, *euicc_key, *eum_cert, *eid, *svn, *extra;
	const char *ci[8];
	size_t n_ci;
	unsigned faults;
	unsigned long chunk;
	long long at;
	const char *log;
};

static int parse_args(int argc, char **argv, struct options *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			exit(0);
		}
		if (v == NULL)
			return dp_err_set(DP_ERR_USAGE, "%s needs a value (or is unknown)", a);
		i++;
		if (strcmp(a, "--sgp26") == 0)
			o->sgp26 = v;
		else if (strcmp(a, "--curve") == 0)
			o->curve = v;
		else if (strcmp(a, "--euicc-cert") == 0)
			o->euicc_cert = v;
		else if (strcmp(a, "--euicc-key") == 0)
			o->euicc_key = v;
		else if (strcmp(a, "--eum-cert") == 0)
			o->eum_cert = v;
		else if (strcmp(a, "--ci") == 0 && o->n_ci < 8)
			o->ci[o->n_ci++] = v;
		else if (strcmp(a, "--eid") == 0)
			o->eid = v;
		else if (strcmp(a, "--svn") == 0)
			o->svn = v;
		else if (strcmp(a, "--info2-extra") == 0)
			o->extra = v;
		else if (strcmp(a, "--log") == 0)
			o->log = v;
		else if (strcmp(a, "--fault") == 0) {
			if (strcmp(v, "bad-signature") == 0)
				o->faults |= DP_EUICC_FAULT_BAD_SIGNATURE;
			else if (strcmp(v, "wrong-tid") == 0)
				o->faults |= DP_EUICC_FAULT_WRONG_TID_ECHO;
			else if (strcmp(v, "skip-server-checks") == 0)
				o->faults |= DP_EUICC_FAULT_SKIP_SERVER_CHECKS;
			else
				return dp_err_set(DP_ERR_USAGE, "unknown fault %s", v);
		} else if (strcmp(a, "--chunk") == 0) {
			char *end;
			errno = 0;
			o->chunk = strtoul(v, &end, 10);
			if (errno != 0 || *end != '\0' || o->chunk < 1 || o->chunk > 256)
				return dp_err_set(DP_ERR_USAGE, "--chunk %s", v);
		} else if (strcmp(a, "--time") == 0) {
			char *end;
			errno = 0;
			o->at = strtoll(v, &end, 10);
			if (errno != 0 || *end != '\0' || o->at <= 0)
				return dp_err_set(DP_ERR_USAGE, "--time %s", v);
		} else {
			return dp_err_set(DP_ERR_USAGE, "unknown option %s", a);
		}
	}
	if ((o->euicc_cert != NULL) != (o->euicc_key != NULL) ||
	    (o->euicc_cert != NULL) != (o->eum_cert != NULL))
		return dp_err_set(DP_ERR_USAGE, "--euicc-cert, --euicc-key and --eum-cert go together");
	return DP_OK;
}

static int build_identity(const struct options *o, struct dp_euicc_identity **out)
{
	struct dp_euicc_identity *id = NULL;
	int r;
	*out = NULL;
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
		if (o->curve != NULL && (r = dp_curve_parse(o->curve, &curve)) != DP_OK)
			goto out;
		const char *sgp26 = o->sgp26;
		if (sgp26 == NULL) {
			const char *shared = getenv("SMDP_SHARED");
			snprintf(dir, sizeof(dir), "%s/sgp26", shared != NULL ? shared : "../shared");
			sgp26 = dir;
		}
		if ((r = dp_euicc_identity_load_sgp26(sgp26, curve, &id)) != DP_OK)
			goto out;
	}
	if (o->eid != NULL && (r = dp_euicc_identity_set_eid(id, o->eid)) != DP_OK)
		goto out;
	if (o->svn != NULL) {
		unsigned a, b, c;
		char tail;
		if (sscanf(o->svn, "%u.%u.%u%c", &a, &b, &c, &tail) != 3 || a > 255 || b > 255 ||
		    c > 255) {
			r = dp_err_set(DP_ERR_USAGE, "--svn %s", o->svn);
			goto out;
		}
		dp_euicc_identity_set_svn(id, (uint8_t)a, (uint8_t)b, (uint8_t)c);
	}
	if (o->extra != NULL) {
		uint8_t raw[DP_EUICC_INFO2_EXTRA_MAX];
		size_t n;
		if ((r = dp_hex_decode(o->extra, strlen(o->extra), raw, sizeof(raw), &n)) != DP_OK ||
		    (r = dp_euicc_identity_add_info2_extra(id, raw, n)) != DP_OK)
			goto out;
	}
	dp_euicc_identity_set_faults(id, o->faults);
	*out = id;
	id = NULL;
	r = DP_OK;
out:
	dp_euicc_identity_free(id);
	return r;
}

/* Strips spaces/tabs/CR/LF; decodes. false when it is not hex or too long for an APDU. */
static bool line_to_apdu(const char *line, uint8_t *apdu, size_t cap, size_t *len)
{
	char hex[LINE_MAX_CHARS];
	size_t n = 0;
	for (const char *p = line; *p != '\0'; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			continue;
		if (n + 1 >= sizeof(hex))
			return false;
		hex[n++] = *p;
	}
	return dp_hex_decode(hex, n, apdu, cap, len) == DP_OK;
}

static int serve(struct dp_euicc_card *card)
{
	char line[LINE_MAX_CHARS];
	uint8_t apdu[262];
	struct dp_buf resp, text;
	int r = DP_OK;
	dp_buf_init(&resp, DP_EUICC_APDU_RESP_MAX);
	dp_buf_init(&text, 2 * DP_EUICC_APDU_RESP_MAX + 2);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		size_t n = strlen(line);
		bool overlong = n > 0 && line[n - 1] != '\n' && !feof(stdin);
		if (overlong) { /* swallow the rest of the line; answer it as a bad APDU */
			int ch;
			while ((ch = getchar()) != EOF && ch != '\n')
				;
		}
		const char *p = line + strspn(line, " \t\r\n");
		if (*p == '\0' || *p == '#')
			continue;
		dp_buf_reset(&resp);
		dp_buf_reset(&text);
		size_t len = 0;
		unsigned sw;
		if (overlong || !line_to_apdu(p, apdu, sizeof(apdu), &len)) {
			dp_log_warn(DP_LOG_EUICC, "input line is not a hex APDU");
			r = dp_buf_append(&resp, "\x67\x00", 2);
		} else {
			r = dp_euicc_apdu(card, apdu, len, &resp, &sw);
		}
		if (r == DP_OK)
			r = dp_hex_encode_buf(resp.data, resp.len, true, &text);
		if (r == DP_OK)
			r = dp_buf_append_byte(&text, '\n');
		if (r != DP_OK)
			break;
		if (fwrite(text.data, 1, text.len, stdout) != text.len || fflush(stdout) != 0) {
			r = dp_err_set(DP_ERR_IO, "stdout: %s", strerror(errno));
			break;
		}
	}
	dp_buf_deinit(&resp);
	dp_buf_deinit(&text);
	return r;
}

int main(int argc, char **argv)
{
	struct options o = { .chunk = 256 };
	struct dp_euicc_identity *id = NULL;
	struct dp_euicc *e = NULL;
	struct dp_euicc_card *card = NULL;
	int status = 1;
	int r = parse_args(argc, argv, &o);
	if (r != DP_OK) {
		fprintf(stderr, "euicc-pipe: %s\n", dp_err_detail());
		usage(stderr);
		return 2;
	}
	if ((r = dp_log_configure(o.log != NULL ? o.log : "warn")) != DP_OK) {
		fprintf(stderr, "euicc-pipe: bad --log %s\n", o.log);
		return 2;
	}
	if ((r = build_identity(&o, &id)) != DP_OK)
		goto out;
	r = dp_euicc_new(id, &e); /* takes id */
	id = NULL;
	if (r != DP_OK)
		goto out;
	if (o.at != 0)
		dp_euicc_set_time(e, (time_t)o.at);
	if ((r = dp_euicc_card_new(dp_euicc_es10_cb, e, &card)) != DP_OK ||
	    (r = dp_euicc_card_set_chunk(card, o.chunk)) != DP_OK)
		goto out;
	dp_log_info(DP_LOG_EUICC, "test eUICC ready, EID %s",
		    dp_euicc_identity_eid(dp_euicc_identity(e)));
	if ((r = serve(card)) != DP_OK)
		goto out;
	status = 0;
out:
	if (status != 0)
		fprintf(stderr, "euicc-pipe: %s: %s\n", dp_strerror(r), dp_err_detail());
	dp_euicc_card_free(card);
	dp_euicc_free(e);
	dp_euicc_identity_free(id);
	return status;
}
