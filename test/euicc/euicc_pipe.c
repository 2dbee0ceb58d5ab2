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
#include "test/euicc/identity_options.h"

#define LINE_MAX_CHARS 4096

static void usage(FILE *f)
{
	fputs("usage: euicc-pipe [options]  (APDUs in hex on stdin, responses on stdout)\n", f);
	fputs(dp_euicc_identity_options_help, f);
	fputs("  --chunk N           response bytes per APDU before 61xx (1..256, default 256)\n"
	      "  --time EPOCH        clock for certificate checks (default: now)\n"
	      "  --log SPEC          log levels to stderr (default warn)\n"
	      "Lines that are empty or start with '#' are skipped; spaces inside hex are ignored.\n",
	      f);
}

struct options {
	struct dp_euicc_identity_options id;
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
		int taken = dp_euicc_identity_option(&o->id, a, v);
		if (taken < 0)
			return taken;
		if (taken)
			continue;
		if (strcmp(a, "--log") == 0) {
			o->log = v;
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
	return DP_OK;
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
	if ((r = dp_euicc_identity_from_options(&o.id, &id)) != DP_OK) {
		if (r == DP_ERR_USAGE) {
			fprintf(stderr, "euicc-pipe: %s\n", dp_err_detail());
			return 2;
		}
		goto out;
	}
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
