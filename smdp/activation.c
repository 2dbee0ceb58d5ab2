/* Activation codes and matching IDs (contract in activation.h; SGP.22 4.1, 4.1.1). */
#include "smdp/activation.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

static const char symbols[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

static int ac_err(const char *what)
{
	return dp_err_set(DP_ERR_ACTIVATION_CODE, "%s", what);
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A DNS name (or IPv4 in its syntax): labels of [A-Za-z0-9-], 1..63, no '-' at either end. */
static bool host_valid(const char *s, size_t n)
{
	size_t label = 0;
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
		} else if (is_alnum(c) || c == '-') {
			if (c == '-' && label == 0)
				return false;
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label != 0 && s[n - 1] != '-';
}

/* 1..65535, decimal, no sign, no leading zero. */
static bool port_valid(const char *s, size_t n)
{
	unsigned long v = 0;
	if (n == 0 || n > 5 || s[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

static int address_valid_n(const char *s, size_t n)
{
	const char *host = s, *port = NULL;
	size_t host_len = n;
	if (n == 0)
		return ac_err("SM-DP+ address is empty");
	if (s[0] == '[') {
		/* [IPv6] or [IPv6]:port */
		const char *end = memchr(s, ']', n);
		char v6[64];
		struct in6_addr a;
		if (end == NULL || (size_t)(end - s - 1) >= sizeof(v6))
			return ac_err("SM-DP+ address: malformed [IPv6]");
		memcpy(v6, s + 1, (size_t)(end - s - 1));
		v6[end - s - 1] = '\0';
		if (inet_pton(AF_INET6, v6, &a) != 1)
			return ac_err("SM-DP+ address: malformed [IPv6]");
		size_t rest = n - (size_t)(end - s) - 1;
		if (rest == 0)
			return DP_OK;
		if (end[1] != ':' || !port_valid(end + 2, rest - 1))
			return ac_err("SM-DP+ address: port must be 1..65535");
		return DP_OK;
	}
	const char *colon = memchr(s, ':', n);
	if (colon != NULL) {
		host_len = (size_t)(colon - s);
		port = colon + 1;
		if (!port_valid(port, n - host_len - 1))
			return ac_err("SM-DP+ address: port must be 1..65535");
	}
	if (!host_valid(host, host_len))
		return ac_err("SM-DP+ address: not a host name");
	return DP_OK;
}

int dp_activation_address_valid(const char *address)
{
	return address_valid_n(address, strlen(address));
}

/* Dotted decimal, first arc 0..2, at least two arcs, no empty arc, no leading zero. */
static bool oid_valid(const char *s, size_t n)
{
	size_t arcs = 0, digits = 0;
	if (n == 0 || !(s[0] >= '0' && s[0] <= '2'))
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (digits == 0)
				return false;
			arcs++;
			digits = 0;
		} else if (is_digit(s[i])) {
			if (digits == 1 && s[i - 1] == '0')
				return false; /* leading zero */
			if (++digits > 20)
				return false;
		} else {
			return false;
		}
	}
	if (arcs < 2 || (s[1] != '.'))
		return false; /* the first arc is one digit */
	return true;
}

/* The AC token as LPAs take it: printable ASCII without '$' and space. */
static bool token_valid(const char *s, size_t n)
{
	if (n == 0 || n > DP_AC_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7F || c == '$')
			return false;
	}
	return true;
}

int dp_activation_code_parse_n(const char *text, size_t len, struct dp_activation_code *out)
{
	const char *f[6];
	size_t fl[6], nf = 0;
	memset(out, 0, sizeof(*out));
	if (len >= 4 && memcmp(text, "LPA:", 4) == 0) {
		text += 4;
		len -= 4;
	}
	if (len == 0)
		return ac_err("empty");
	if (len > DP_AC_MAX)
		return ac_err("longer than 255 characters");
	if (memchr(text, '\0', len) != NULL)
		return ac_err("contains a NUL character");
	/* split on '$': at most 5 fields; a 6th is refused */
	const char *p = text, *end = text + len;
	while (nf < 6) {
		const char *d = memchr(p, '$', (size_t)(end - p));
		f[nf] = p;
		fl[nf] = d != NULL ? (size_t)(d - p) : (size_t)(end - p);
		nf++;
		if (d == NULL)
			break;
		p = d + 1;
	}
	if (nf > 5)
		return ac_err("more than 5 fields (only format 1 with address, matchingId, OID and "
			      "confirmation code flag is known)");
	if (fl[0] != 1 || f[0][0] != '1')
		return ac_err("format qualifier must be '1'");
	if (nf < 3)
		return ac_err("needs an SM-DP+ address and a matchingId");
	int r = address_valid_n(f[1], fl[1]);
	if (r)
		return r;
	if (!token_valid(f[2], fl[2]))
		return ac_err(fl[2] == 0 ? "matchingId is empty"
					 : "matchingId has a character outside printable ASCII");
	if (nf >= 4 && fl[3] != 0 && !oid_valid(f[3], fl[3]))
		return ac_err("SM-DP+ OID is not a dotted-decimal OID");
	if (nf == 4 && fl[3] == 0)
		return ac_err("SM-DP+ OID field is empty and no flag follows");
	if (nf == 5 && (fl[4] != 1 || f[4][0] != '1'))
		return ac_err("confirmation code flag must be '1'");
	memcpy(out->address, f[1], fl[1]);
	memcpy(out->matching_id, f[2], fl[2]);
	if (nf >= 4)
		memcpy(out->oid, f[3], fl[3]);
	out->cc_required = nf == 5;
	return DP_OK;
}

int dp_activation_code_parse(const char *text, struct dp_activation_code *out)
{
	return dp_activation_code_parse_n(text, strlen(text), out);
}

int dp_activation_code_build(const struct dp_activation_code *ac, char *out, size_t cap)
{
	size_t al = strnlen(ac->address, sizeof(ac->address));
	size_t ml = strnlen(ac->matching_id, sizeof(ac->matching_id));
	size_t ol = strnlen(ac->oid, sizeof(ac->oid));
	if (al == sizeof(ac->address) || ml == sizeof(ac->matching_id) || ol == sizeof(ac->oid))
		return ac_err("field not NUL-terminated");
	int r = address_valid_n(ac->address, al);
	if (r)
		return r;
	if (!token_valid(ac->matching_id, ml))
		return ac_err(ml == 0 ? "matchingId is empty"
				      : "matchingId has a character outside printable ASCII");
	if (ol != 0 && !oid_valid(ac->oid, ol))
		return ac_err("SM-DP+ OID is not a dotted-decimal OID");
	/* pySim's habit: an empty OID field so that the flag lands in position 5 */
	int n =
	    snprintf(out, cap, "LPA:1$%s$%s%s%s%s", ac->address, ac->matching_id,
		     ol != 0 || ac->cc_required ? "$" : "", ac->oid, ac->cc_required ? "$1" : "");
	if (n < 0 || (size_t)n >= cap || (size_t)n - 4 > DP_AC_MAX) {
		if (cap > 0)
			out[0] = '\0';
		return dp_err_set(DP_ERR_TOO_LONG, "activation code longer than %d characters",
				  DP_AC_MAX);
	}
	return DP_OK;
}

int dp_activation_matching_id_valid(const char *mid)
{
	size_t n = strlen(mid);
	if (n == 0 || n > DP_AC_MATCHING_ID_MAX)
		return dp_err_set(DP_ERR_INVAL, "matching ID must be 1..%d characters",
				  DP_AC_MATCHING_ID_MAX);
	for (size_t i = 0; i < n; i++) {
		if (!(is_digit(mid[i]) || (mid[i] >= 'A' && mid[i] <= 'Z') || mid[i] == '-'))
			return dp_err_set(DP_ERR_INVAL,
					  "matching ID '%s': character %zu is not 0-9, A-Z or '-'",
					  mid, i + 1);
	}
	return DP_OK;
}

int dp_activation_matching_id_generate(char *out, size_t cap)
{
	uint8_t rnd[64];
	size_t k = 0, used = sizeof(rnd);
	if (cap < DP_AC_MATCHING_ID_GEN_LEN + 1)
		return dp_err_set(DP_ERR_INVAL, "matching ID buffer too small");
	while (k < DP_AC_MATCHING_ID_GEN_LEN) {
		if (k % 6 == 5) {
			out[k++] = '-';
			continue;
		}
		if (used == sizeof(rnd)) {
			if (RAND_bytes(rnd, (int)sizeof(rnd)) != 1)
				return dp_err_set(DP_ERR_CRYPTO, "RAND_bytes");
			used = 0;
		}
		/* rejection sampling: 252 = 7 * 36 keeps every symbol equally likely */
		uint8_t b = rnd[used++];
		if (b < 252)
			out[k++] = symbols[b % 36];
	}
	out[k] = '\0';
	return DP_OK;
}
