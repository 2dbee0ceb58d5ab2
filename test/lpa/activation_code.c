/* Strict activation code parser (SGP.22 4.1; es2-lifecycle-sgp32.md 3); rules in the
 * header. */
#include "test/lpa/activation_code.h"

#include <ctype.h>
#include <string.h>

static int fail(const char *what)
{
	return dp_err_set(DP_ERR_ACTIVATION_CODE, "%s", what);
}

/* DNS label: 1..63 letters, digits or '-', not starting or ending with '-'. */
static bool host_ok(const char *h, size_t n)
{
	size_t label = 0;
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || h[i] == '.') {
			if (label == 0 || label > 63 || h[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)h[i]) && h[i] != '-')
			return false;
		if (label == 0 && h[i] == '-')
			return false;
		label++;
	}
	return true;
}

/* [IPv6]: hex digits, ':' and '.' (an embedded IPv4) between the brackets. */
static bool ipv6_ok(const char *h, size_t n)
{
	if (n < 4 || h[0] != '[' || h[n - 1] != ']' || memchr(h + 1, ':', n - 2) == NULL)
		return false;
	for (size_t i = 1; i + 1 < n; i++)
		if (!isxdigit((unsigned char)h[i]) && h[i] != ':' && h[i] != '.')
			return false;
	return true;
}

static bool port_ok(const char *p, size_t n)
{
	unsigned long v = 0;
	if (n == 0 || n > 5 || p[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return false;
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

static bool address_ok(const char *a, size_t n)
{
	size_t host = n;
	if (n > 0 && a[0] == '[') {
		const char *close = memchr(a, ']', n);
		if (close == NULL)
			return false;
		host = (size_t)(close - a) + 1;
		if (!ipv6_ok(a, host))
			return false;
	} else {
		const char *colon = memchr(a, ':', n);
		if (colon != NULL)
			host = (size_t)(colon - a);
		if (!host_ok(a, host))
			return false;
	}
	if (host == n)
		return true;
	return a[host] == ':' && port_ok(a + host + 1, n - host - 1);
}

/* Dotted decimal, first arc 0..2, at least two arcs, no empty arc or leading zero. */
static bool oid_ok(const char *s, size_t n)
{
	size_t arcs = 0, i = 0;
	while (i < n) {
		size_t start = i;
		while (i < n && isdigit((unsigned char)s[i]))
			i++;
		if (i == start || (s[start] == '0' && i - start > 1))
			return false;
		if (arcs == 0 && (i - start != 1 || s[start] > '2'))
			return false;
		arcs++;
		if (i == n)
			break;
		if (s[i] != '.' || i + 1 == n)
			return false;
		i++;
	}
	return arcs >= 2;
}

int dp_lpa_activation_code_parse(const char *text, struct dp_lpa_activation_code *out)
{
	const char *field[6];
	size_t len[6], n = 0;
	memset(out, 0, sizeof(*out));
	if (strncmp(text, "LPA:", 4) == 0)
		text += 4;
	size_t total = strlen(text);
	if (total == 0)
		return fail("empty");
	if (total > DP_LPA_AC_MAX)
		return fail("longer than 255 characters");
	for (size_t i = 0; i < total; i++)
		if (text[i] <= 0x20 || text[i] >= 0x7F)
			return dp_err_set(DP_ERR_ACTIVATION_CODE,
					  "character 0x%02X at %zu is not printable ASCII",
					  (unsigned)(unsigned char)text[i], i);
	/* Split at '$' into at most 5 fields (a sixth is refused). */
	const char *p = text;
	for (;;) {
		const char *d = strchr(p, '$');
		size_t l = d != NULL ? (size_t)(d - p) : strlen(p);
		if (n == 5)
			return fail("more than five fields");
		field[n] = p;
		len[n++] = l;
		if (d == NULL)
			break;
		p = d + 1;
	}
	if (len[0] != 1 || field[0][0] != '1')
		return fail("format is not 1");
	if (n < 3)
		return fail("SM-DP+ address or matching ID missing");
	if (!address_ok(field[1], len[1]))
		return fail("SM-DP+ address is not host[:port]");
	if (len[2] == 0)
		return fail("matching ID is empty");
	if (n >= 4 && len[3] == 0 && n == 4)
		return fail("empty SM-DP+ OID with nothing after it");
	if (n >= 4 && len[3] != 0 && !oid_ok(field[3], len[3]))
		return fail("SM-DP+ OID is not dotted decimal");
	if (n == 5 && (len[4] != 1 || field[4][0] != '1'))
		return fail("confirmation code flag is not 1");
	memcpy(out->address, field[1], len[1]);
	memcpy(out->matching_id, field[2], len[2]);
	if (n >= 4)
		memcpy(out->oid, field[3], len[3]);
	out->cc_required = n == 5;
	return DP_OK;
}
