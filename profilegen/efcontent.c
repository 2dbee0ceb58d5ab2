/* Readable forms of two USIM EF contents: EF.SPN (3GPP TS 31.102 4.2.12) and EF.SMSP
 * (TS 31.102 4.2.27, record layout of TS 51.011 10.5.6, addresses of TS 23.040 9.1.2.5
 * and TS 24.011 8.2.5.2, validity period of TS 23.040 9.2.3.12.1). Text is coded in the
 * SMS 7-bit default alphabet, one character per byte with b8 = 0 (TS 23.038 6.2.1), or
 * as UCS2 in the '80' form of ETSI TS 102 221 Annex A. dp_pg_ef_dump only writes a form
 * that dp_pg_ef_build turns back into the same bytes; otherwise the caller keeps hex. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profilegen/model.h"
#include "profilegen/yamldoc.h"

#define N(a)	   (sizeof(a) / sizeof((a)[0]))
#define SPN_SIZE   17  /* display condition + 16 bytes of name (TS 31.102 4.2.12) */
#define SMSP_FIXED 28  /* record bytes after the alpha identifier (TS 51.011 10.5.6) */
#define ADDR_BYTES 12  /* TP-DA and TS-SC address fields */
#define MAX_TEXT   256 /* bytes of an alpha field we model */

/* TS 23.038 6.2.1: the default alphabet, code -> Unicode code point (0x1B = escape). */
static const unsigned short gsm7[128] = {
    0x40,  0xA3, 0x24, 0xA5,  0xE8, 0xE9,  0xF9,  0xEC,	 0xF2,	0xC7,  0x0A,  0xD8,  0xF8,
    0x0D,  0xC5, 0xE5, 0x394, 0x5F, 0x3A6, 0x393, 0x39B, 0x3A9, 0x3A0, 0x3A8, 0x3A3, 0x398,
    0x39E, 0x1B, 0xC6, 0xE6,  0xDF, 0xC9,  0x20,  0x21,	 0x22,	0x23,  0xA4,  0x25,  0x26,
    0x27,  0x28, 0x29, 0x2A,  0x2B, 0x2C,  0x2D,  0x2E,	 0x2F,	0x30,  0x31,  0x32,  0x33,
    0x34,  0x35, 0x36, 0x37,  0x38, 0x39,  0x3A,  0x3B,	 0x3C,	0x3D,  0x3E,  0x3F,  0xA1,
    0x41,  0x42, 0x43, 0x44,  0x45, 0x46,  0x47,  0x48,	 0x49,	0x4A,  0x4B,  0x4C,  0x4D,
    0x4E,  0x4F, 0x50, 0x51,  0x52, 0x53,  0x54,  0x55,	 0x56,	0x57,  0x58,  0x59,  0x5A,
    0xC4,  0xD6, 0xD1, 0xDC,  0xA7, 0xBF,  0x61,  0x62,	 0x63,	0x64,  0x65,  0x66,  0x67,
    0x68,  0x69, 0x6A, 0x6B,  0x6C, 0x6D,  0x6E,  0x6F,	 0x70,	0x71,  0x72,  0x73,  0x74,
    0x75,  0x76, 0x77, 0x78,  0x79, 0x7A,  0xE4,  0xF6,	 0xF1,	0xFC,  0xE0};
/* TS 23.038 6.2.1.1: the extension table (after 0x1B). */
static const struct {
	unsigned char code;
	unsigned short cp;
} gsm7_ext[] = {{0x0A, 0x0C}, {0x14, 0x5E}, {0x28, 0x7B}, {0x29, 0x7D}, {0x2F, 0x5C},
		{0x3C, 0x5B}, {0x3D, 0x7E}, {0x3E, 0x5D}, {0x40, 0x7C}, {0x65, 0x20AC}};

enum coding { C_GSM7, C_UCS2 };

int dp_pg_ef_kind(const char *pe_alt, const char *member)
{
	/* only the USIM layouts (the CSIM has files of the same names, coded otherwise) */
	if (pe_alt == NULL || member == NULL ||
	    (strcmp(pe_alt, "usim") != 0 && strcmp(pe_alt, "opt-iot") != 0))
		return DP_PG_EF_NONE;
	if (strcmp(member, "ef-spn") == 0)
		return DP_PG_EF_SPN;
	if (strcmp(member, "ef-smsp") == 0)
		return DP_PG_EF_SMSP;
	return DP_PG_EF_NONE;
}

/* ---- UTF-8 ---- */

static int utf8_put(struct dp_buf *o, unsigned cp)
{
	uint8_t b[3];
	size_t n;
	if (cp < 0x80) {
		b[0] = (uint8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (uint8_t)(0xC0 | cp >> 6);
		b[1] = (uint8_t)(0x80 | (cp & 0x3F));
		n = 2;
	} else {
		b[0] = (uint8_t)(0xE0 | cp >> 12);
		b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (uint8_t)(0x80 | (cp & 0x3F));
		n = 3;
	}
	return dp_buf_append(o, b, n);
}

/* Next code point of s (advanced); -1 when s is not UTF-8 or needs more than 16 bits. */
static long utf8_next(const char **s)
{
	const unsigned char *p = (const unsigned char *)*s;
	long cp;
	size_t n;
	if (p[0] < 0x80) {
		cp = p[0];
		n = 1;
	} else if ((p[0] & 0xE0) == 0xC0 && (p[1] & 0xC0) == 0x80) {
		cp = (long)(p[0] & 0x1F) << 6 | (p[1] & 0x3F);
		n = 2;
		if (cp < 0x80)
			return -1;
	} else if ((p[0] & 0xF0) == 0xE0 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80) {
		cp = (long)(p[0] & 0x0F) << 12 | (long)(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
		n = 3;
		if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))
			return -1;
	} else {
		return -1;
	}
	*s += n;
	return cp;
}

/* ---- alpha fields: text in `size` bytes, FF-padded ---- */

/* Bytes -> UTF-8 text and coding; DP_ERR_PG_VALUE when not one of the two codings with
 * clean FF padding. */
static int alpha_decode(const uint8_t *b, size_t n, struct dp_buf *text, enum coding *c)
{
	size_t i = 0;
	int r = DP_OK;
	if (n && b[0] == 0x80) {
		*c = C_UCS2;
		for (i = 1; i + 1 < n && r == DP_OK; i += 2) {
			unsigned cp = (unsigned)b[i] << 8 | b[i + 1];
			if (cp == 0xFFFF)
				break;
			if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
				return DP_ERR_PG_VALUE;
			r = utf8_put(text, cp);
		}
	} else {
		*c = C_GSM7;
		for (; i < n && b[i] != 0xFF && r == DP_OK; i++) {
			if (b[i] >= 0x80)
				return DP_ERR_PG_VALUE;
			if (b[i] != 0x1B) {
				r = utf8_put(text, gsm7[b[i]]);
				continue;
			}
			size_t k = 0;
			while (i + 1 < n && k < N(gsm7_ext) && gsm7_ext[k].code != b[i + 1])
				k++;
			if (i + 1 >= n || k == N(gsm7_ext))
				return DP_ERR_PG_VALUE;
			r = utf8_put(text, gsm7_ext[k].cp);
			i++;
		}
	}
	for (; i < n && r == DP_OK; i++)
		if (b[i] != 0xFF)
			return DP_ERR_PG_VALUE;
	return r;
}

/* UTF-8 text -> coded bytes (no padding) appended to out; names the offending character. */
static int alpha_encode(struct dp_pg_ydoc *y, yaml_node_t *n, const char *s, enum coding c,
			struct dp_buf *out)
{
	int r = c == C_UCS2 ? dp_buf_append_byte(out, 0x80) : DP_OK;
	while (*s && r == DP_OK) {
		long cp = utf8_next(&s);
		if (cp < 0)
			return dp_pg_yerr(y, n, DP_ERR_PG_VALUE,
					  "text is not UTF-8 of the Basic Multilingual Plane");
		if (c == C_UCS2) {
			if (cp == 0 || cp == 0xFFFF)
				return dp_pg_yerr(y, n, DP_ERR_PG_VALUE, "U+%04lX cannot be coded",
						  cp);
			uint8_t be[2] = {(uint8_t)(cp >> 8), (uint8_t)cp};
			r = dp_buf_append(out, be, 2);
			continue;
		}
		size_t k = 0;
		while (k < N(gsm7) && (gsm7[k] != cp || k == 0x1B))
			k++;
		if (k < N(gsm7)) {
			r = dp_buf_append_byte(out, (uint8_t)k);
			continue;
		}
		for (k = 0; k < N(gsm7_ext) && gsm7_ext[k].cp != cp; k++)
			;
		if (k == N(gsm7_ext))
			return dp_pg_yerr(y, n, DP_ERR_PG_VALUE,
					  "U+%04lX is not in the GSM 7-bit default alphabet "
					  "(use coding: ucs2)",
					  cp);
		r = dp_buf_append_byte(out, 0x1B);
		r = r ? r : dp_buf_append_byte(out, gsm7_ext[k].code);
	}
	return r;
}

/* ---- YAML helpers ---- */

static int put_quoted(struct dp_buf *o, const char *s, size_t n)
{
	int r = dp_buf_append_byte(o, '"');
	for (size_t i = 0; i < n && r == DP_OK; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			r = dp_buf_printf(o, "\\%c", c);
		else if (c < 0x20 || c == 0x7F)
			r = dp_buf_printf(o, "\\x%02X", c);
		else
			r = dp_buf_append_byte(o, c);
	}
	return r ? r : dp_buf_append_byte(o, '"');
}

static int put_key(struct dp_buf *o, int indent, const char *dash, const char *key)
{
	int r = dp_buf_printf(o, "%*s%s%s:", indent, "", dash, key);
	return r;
}

static int get_uint(struct dp_pg_ydoc *y, yaml_node_t *map, const char *key, unsigned long max,
		    unsigned long *out, bool *given)
{
	const char *s;
	char *end;
	yaml_node_t *v = dp_pg_yget(y, map, key);
	*given = v != NULL;
	if (v == NULL)
		return DP_OK;
	size_t mark = dp_pg_ypush(y, key);
	int r = dp_pg_yscalar(y, v, &s);
	if (r == DP_OK) {
		unsigned long x = (s[0] >= '0' && s[0] <= '9') ? strtoul(s, &end, 0) : 0;
		if (s[0] < '0' || s[0] > '9' || *end || x > max)
			r = dp_pg_yerr(y, v, DP_ERR_PG_VALUE, "'%s' is not an integer in 0..%lu", s,
				       max);
		else
			*out = x;
	}
	dp_pg_ypop(y, mark);
	return r;
}

static int get_bool(struct dp_pg_ydoc *y, yaml_node_t *map, const char *key, bool *out)
{
	const char *s;
	yaml_node_t *v = dp_pg_yget(y, map, key);
	if (v == NULL)
		return DP_OK;
	size_t mark = dp_pg_ypush(y, key);
	int r = dp_pg_yscalar(y, v, &s);
	if (r == DP_OK && strcmp(s, "true") == 0)
		*out = true;
	else if (r == DP_OK && strcmp(s, "false") == 0)
		*out = false;
	else if (r == DP_OK)
		r = dp_pg_yerr(y, v, DP_ERR_PG_VALUE, "expected true or false, found '%s'", s);
	dp_pg_ypop(y, mark);
	return r;
}

static int get_coding(struct dp_pg_ydoc *y, yaml_node_t *map, const char *key, enum coding *c)
{
	const char *s;
	yaml_node_t *v = dp_pg_yget(y, map, key);
	*c = C_GSM7;
	if (v == NULL)
		return DP_OK;
	size_t mark = dp_pg_ypush(y, key);
	int r = dp_pg_yscalar(y, v, &s);
	if (r == DP_OK && strcmp(s, "ucs2") == 0)
		*c = C_UCS2;
	else if (r == DP_OK && strcmp(s, "gsm7") != 0)
		r = dp_pg_yerr(y, v, DP_ERR_PG_VALUE, "unknown coding '%s' (gsm7 or ucs2)", s);
	dp_pg_ypop(y, mark);
	return r;
}

/* An alpha field: text `key` (optional) coded with `coding_key` into exactly `size` bytes
 * (size 0: as many as the text needs) appended to out. */
static int build_alpha(struct dp_pg_ydoc *y, yaml_node_t *map, const char *key,
		       const char *coding_key, size_t size, bool sized, struct dp_buf *out)
{
	struct dp_buf t;
	enum coding c;
	const char *s = "";
	yaml_node_t *v = dp_pg_yget(y, map, key);
	dp_buf_init(&t, MAX_TEXT * 2);
	int r = get_coding(y, map, coding_key, &c);
	size_t mark = dp_pg_ypush(y, key);
	if (r == DP_OK && v)
		r = dp_pg_yscalar(y, v, &s);
	if (r == DP_OK && (v || c == C_UCS2))
		r = alpha_encode(y, v ? v : map, s, c, &t);
	if (r == DP_ERR_TOO_LONG)
		r = dp_pg_yerr(y, v, r, "text too long");
	if (r == DP_OK && sized && t.len > size)
		r = dp_pg_yerr(y, v ? v : map, DP_ERR_PG_VALUE,
			       "text needs %zu bytes, only %zu available", t.len, size);
	r = r ? r : dp_buf_append(out, t.data, t.len);
	for (size_t i = t.len; r == DP_OK && sized && i < size; i++)
		r = dp_buf_append_byte(out, 0xFF);
	dp_pg_ypop(y, mark);
	dp_buf_deinit(&t);
	return r;
}

/* Writes `key: "text"` (and the coding when UCS2) for an alpha field; DP_ERR_PG_VALUE when
 * the bytes are not cleanly coded. */
static int dump_alpha(const uint8_t *b, size_t n, int indent, const char *key,
		      const char *coding_key, struct dp_buf *o)
{
	struct dp_buf t;
	enum coding c;
	dp_buf_init(&t, MAX_TEXT * 3);
	int r = alpha_decode(b, n, &t, &c);
	bool empty = t.len == 0 && c == C_GSM7;
	if (r == DP_OK && !empty) {
		r = put_key(o, indent, "", key);
		r = r ? r : dp_buf_append_byte(o, ' ');
		r = r ? r : put_quoted(o, t.len ? (const char *)t.data : "", t.len);
		r = r ? r : dp_buf_append_byte(o, '\n');
	}
	if (r == DP_OK && c == C_UCS2)
		r = dp_buf_printf(o, "%*s%s: ucs2\n", indent, "", coding_key);
	dp_buf_deinit(&t);
	return r;
}

/* ======================================================================================
 * EF.SPN: display condition, then the name (TS 31.102 4.2.12)
 * ==================================================================================== */

static const char *const spn_keys[] = {
    "showPlmnNameAtHome", "showSpnWhenRoaming", "name", "coding", "size", NULL};

static int build_spn(struct dp_pg_ydoc *y, yaml_node_t *v, struct dp_buf *out)
{
	bool plmn = false, roaming = true, given;
	unsigned long size = SPN_SIZE;
	int r = dp_pg_ymap_check(y, v, spn_keys);
	r = r ? r : get_bool(y, v, "showPlmnNameAtHome", &plmn);
	r = r ? r : get_bool(y, v, "showSpnWhenRoaming", &roaming);
	r = r ? r : get_uint(y, v, "size", MAX_TEXT, &size, &given);
	if (r == DP_OK && size < 1) {
		size_t mark = dp_pg_ypush(y, "size");
		r = dp_pg_yerr(y, dp_pg_yget(y, v, "size"), DP_ERR_PG_VALUE, "size is at least 1");
		dp_pg_ypop(y, mark);
	}
	/* b1: registered PLMN name required at home; b2 = 0: SPN required when roaming */
	r = r ? r : dp_buf_append_byte(out, (uint8_t)((plmn ? 1 : 0) | (roaming ? 0 : 2)));
	r = r ? r : build_alpha(y, v, "name", "coding", size - 1, true, out);
	return r;
}

static int dump_spn(const uint8_t *b, size_t n, int indent, struct dp_buf *o)
{
	if (n < 1 || n > MAX_TEXT || (b[0] & 0xFC) != 0)
		return DP_ERR_PG_VALUE; /* RFU bits set: keep hex */
	int r =
	    dp_buf_printf(o, "%*sshowPlmnNameAtHome: %s\n%*sshowSpnWhenRoaming: %s\n", indent, "",
			  (b[0] & 1) ? "true" : "false", indent, "", (b[0] & 2) ? "false" : "true");
	r = r ? r : dump_alpha(b + 1, n - 1, indent, "name", "coding", o);
	if (r == DP_OK && n != SPN_SIZE)
		r = dp_buf_printf(o, "%*ssize: %zu\n", indent, "", n);
	return r;
}

/* ======================================================================================
 * EF.SMSP records (TS 51.011 10.5.6)
 * ==================================================================================== */

static const char *const smsp_keys[] = {"alphaId",
					"alphaIdCoding",
					"alphaIdLength",
					"destinationAddress",
					"serviceCentreAddress",
					"protocolId",
					"dataCodingScheme",
					"validityPeriod",
					NULL};
static const char *const addr_keys[] = {"tonNpi", "digits", NULL};
static const char bcd_digits[] = "0123456789*#abc"; /* TS 24.008 10.5.4.7 BCD coding */

/* An address field of 12 bytes. sc: TS 24.011 length (octets incl. TON/NPI), else TS
 * 23.040 length (digits). Either "+digits" (TON/NPI 91), "digits" (81) or {tonNpi, digits}. */
static int build_addr(struct dp_pg_ydoc *y, yaml_node_t *v, bool sc, uint8_t f[ADDR_BYTES])
{
	const char *s;
	unsigned long ton = 0x81;
	bool given;
	int r;
	if (v->type == YAML_MAPPING_NODE) {
		yaml_node_t *dn = dp_pg_yget(y, v, "digits");
		r = dp_pg_ymap_check(y, v, addr_keys);
		r = r ? r : get_uint(y, v, "tonNpi", 255, &ton, &given);
		if (r == DP_OK && (!given || dn == NULL))
			r = dp_pg_yerr(y, v, DP_ERR_PG_SCHEMA, "needs tonNpi and digits");
		size_t mark = dp_pg_ypush(y, "digits");
		r = r ? r : dp_pg_yscalar(y, dn, &s);
		dp_pg_ypop(y, mark);
		if (r)
			return r;
		v = dn;
	} else {
		r = dp_pg_yscalar(y, v, &s);
		if (r)
			return r;
		if (s[0] == '+') {
			ton = 0x91;
			s++;
		}
	}
	size_t nd = strlen(s);
	if (nd > 2 * (ADDR_BYTES - 2))
		return dp_pg_yerr(y, v, DP_ERR_PG_VALUE, "at most %d digits, not %zu",
				  2 * (ADDR_BYTES - 2), nd);
	memset(f, 0xFF, ADDR_BYTES);
	f[0] = (uint8_t)(sc ? 1 + (nd + 1) / 2 : nd);
	f[1] = (uint8_t)ton;
	for (size_t i = 0; i < nd; i++) {
		const char *p = s[i] ? strchr(bcd_digits, s[i]) : NULL;
		if (p == NULL)
			return dp_pg_yerr(y, v, DP_ERR_PG_VALUE,
					  "'%c' is not a digit, *, #, a, b or c", s[i]);
		uint8_t d = (uint8_t)(p - bcd_digits);
		uint8_t *byte = &f[2 + i / 2];
		*byte = (i & 1) ? (uint8_t)((*byte & 0x0F) | d << 4) : (uint8_t)(0xF0 | d);
	}
	return DP_OK;
}

static int dump_addr(const uint8_t *f, bool sc, int indent, const char *key, struct dp_buf *o)
{
	char d[2 * ADDR_BYTES + 2];
	size_t nd, nb;
	if (sc) {
		if (f[0] < 1 || f[0] > ADDR_BYTES - 1)
			return DP_ERR_PG_VALUE;
		nb = f[0] - 1u;
		nd = 2 * nb;
		if (nb && (f[1 + nb] >> 4) == 0xF)
			nd--; /* odd number of digits: F filler */
	} else {
		if (f[0] > 2 * (ADDR_BYTES - 2))
			return DP_ERR_PG_VALUE;
		nd = f[0];
		nb = (nd + 1) / 2;
	}
	for (size_t i = 0; i < nd; i++) {
		uint8_t x = (i & 1) ? f[2 + i / 2] >> 4 : f[2 + i / 2] & 0x0F;
		if (x > 14)
			return DP_ERR_PG_VALUE;
		d[i] = bcd_digits[x];
	}
	d[nd] = '\0';
	if ((nd & 1) && (f[2 + nd / 2] >> 4) != 0xF)
		return DP_ERR_PG_VALUE;
	for (size_t i = 2 + nb; i < ADDR_BYTES; i++)
		if (f[i] != 0xFF)
			return DP_ERR_PG_VALUE;
	if (f[1] == 0x91 || f[1] == 0x81)
		return dp_buf_printf(o, "%*s%s: \"%s%s\"\n", indent, "", key,
				     f[1] == 0x91 ? "+" : "", d);
	return dp_buf_printf(o, "%*s%s: {tonNpi: 0x%02X, digits: \"%s\"}\n", indent, "", key, f[1],
			     d);
}

/* TP-VP relative format (TS 23.040 9.2.3.12.1) <-> minutes. */
static unsigned long vp_minutes(unsigned v)
{
	if (v <= 143)
		return (v + 1) * 5ul;
	if (v <= 167)
		return 720 + (v - 143) * 30ul;
	if (v <= 196)
		return (v - 166) * 1440ul;
	return (v - 192) * 10080ul;
}

static int vp_code(unsigned long m, unsigned *v)
{
	if (m >= 5 && m <= 720 && m % 5 == 0)
		*v = (unsigned)(m / 5 - 1);
	else if (m > 720 && m <= 1440 && (m - 720) % 30 == 0)
		*v = (unsigned)(143 + (m - 720) / 30);
	else if (m % 1440 == 0 && m / 1440 >= 2 && m / 1440 <= 30)
		*v = (unsigned)(166 + m / 1440);
	else if (m % 10080 == 0 && m / 10080 >= 5 && m / 10080 <= 63)
		*v = (unsigned)(192 + m / 10080);
	else
		return DP_ERR_PG_VALUE;
	return DP_OK;
}

/* validityPeriod: the TP-VP octet (0..255) or a duration "<n>m|h|d|w" it codes exactly. */
static int build_vp(struct dp_pg_ydoc *y, yaml_node_t *v, uint8_t *out)
{
	const char *s;
	char *end;
	int r = dp_pg_yscalar(y, v, &s);
	if (r)
		return r;
	unsigned long x = (s[0] >= '0' && s[0] <= '9') ? strtoul(s, &end, 10) : 0;
	if (s[0] < '0' || s[0] > '9')
		return dp_pg_yerr(y, v, DP_ERR_PG_VALUE,
				  "expected a number or a duration, not '%s'", s);
	static const struct {
		char unit;
		unsigned long minutes;
	} units[] = {{'m', 1}, {'h', 60}, {'d', 1440}, {'w', 10080}};
	unsigned code;
	if (*end == '\0') {
		if (x > 255)
			return dp_pg_yerr(y, v, DP_ERR_PG_VALUE, "TP-VP '%s' is not in 0..255", s);
		*out = (uint8_t)x;
		return DP_OK;
	}
	for (size_t i = 0; i < N(units); i++)
		if (end[0] == units[i].unit && end[1] == '\0' && x < 100000 &&
		    vp_code(x * units[i].minutes, &code) == DP_OK) {
			*out = (uint8_t)code;
			return DP_OK;
		}
	return dp_pg_yerr(y, v, DP_ERR_PG_VALUE,
			  "'%s' is not a validity period the relative TP-VP codes (5m..12h in 5m, "
			  "..24h in 30m, 2d..30d, 5w..63w)",
			  s);
}

static int dump_vp(uint8_t v, int indent, struct dp_buf *o)
{
	unsigned long m = vp_minutes(v);
	if (v >= 197)
		return dp_buf_printf(o, "%*svalidityPeriod: %luw\n", indent, "", m / 10080);
	if (m % 1440 == 0)
		return dp_buf_printf(o, "%*svalidityPeriod: %lud\n", indent, "", m / 1440);
	if (m % 60 == 0)
		return dp_buf_printf(o, "%*svalidityPeriod: %luh\n", indent, "", m / 60);
	return dp_buf_printf(o, "%*svalidityPeriod: %lum\n", indent, "", m);
}

static int build_smsp_record(struct dp_pg_ydoc *y, yaml_node_t *v, struct dp_buf *out)
{
	struct dp_buf alpha;
	uint8_t tail[SMSP_FIXED];
	unsigned long alen = 0, pid = 0, dcs = 0;
	bool has_alen = false, has_pid = false, has_dcs = false;
	dp_buf_init(&alpha, MAX_TEXT * 2);
	memset(tail, 0xFF, sizeof(tail));
	int r = dp_pg_ymap_check(y, v, smsp_keys);
	r = r ? r : get_uint(y, v, "alphaIdLength", MAX_TEXT, &alen, &has_alen);
	r = r ? r : build_alpha(y, v, "alphaId", "alphaIdCoding", alen, has_alen, &alpha);
	/* parameter indicators: bit = 0 when the parameter is present; b6..b8 reserved, 1 */
	uint8_t ind = 0xFF;
	yaml_node_t *da = dp_pg_yget(y, v, "destinationAddress");
	yaml_node_t *sc = dp_pg_yget(y, v, "serviceCentreAddress");
	yaml_node_t *vp = dp_pg_yget(y, v, "validityPeriod");
	if (r == DP_OK && da) {
		size_t mark = dp_pg_ypush(y, "destinationAddress");
		r = build_addr(y, da, false, tail + 1);
		dp_pg_ypop(y, mark);
		ind &= (uint8_t)~0x01;
	}
	if (r == DP_OK && sc) {
		size_t mark = dp_pg_ypush(y, "serviceCentreAddress");
		r = build_addr(y, sc, true, tail + 13);
		dp_pg_ypop(y, mark);
		ind &= (uint8_t)~0x02;
	}
	r = r ? r : get_uint(y, v, "protocolId", 255, &pid, &has_pid);
	r = r ? r : get_uint(y, v, "dataCodingScheme", 255, &dcs, &has_dcs);
	if (has_pid) {
		tail[25] = (uint8_t)pid;
		ind &= (uint8_t)~0x04;
	}
	if (has_dcs) {
		tail[26] = (uint8_t)dcs;
		ind &= (uint8_t)~0x08;
	}
	if (r == DP_OK && vp) {
		size_t mark = dp_pg_ypush(y, "validityPeriod");
		r = build_vp(y, vp, &tail[27]);
		dp_pg_ypop(y, mark);
		ind &= (uint8_t)~0x10;
	}
	tail[0] = ind;
	r = r ? r : dp_buf_append(out, alpha.data, alpha.len);
	r = r ? r : dp_buf_append(out, tail, sizeof(tail));
	dp_buf_deinit(&alpha);
	return r;
}

static int build_smsp(struct dp_pg_ydoc *y, yaml_node_t *v, struct dp_buf *out)
{
	if (v->type != YAML_SEQUENCE_NODE)
		return dp_pg_yerr(y, v, DP_ERR_PG_SCHEMA, "expected a list of EF.SMSP records");
	size_t i = 0;
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++, i++) {
		size_t mark = dp_pg_ypush_index(y, i);
		int r = build_smsp_record(y, dp_pg_ynode(y, *it), out);
		dp_pg_ypop(y, mark);
		if (r)
			return r;
	}
	return DP_OK;
}

static int dump_smsp_record(const uint8_t *b, size_t n, int indent, struct dp_buf *o)
{
	if (n < SMSP_FIXED || n - SMSP_FIXED > MAX_TEXT)
		return DP_ERR_PG_VALUE;
	size_t y = n - SMSP_FIXED;
	const uint8_t *t = b + y;
	uint8_t ind = t[0];
	if ((ind & 0xE0) != 0xE0)
		return DP_ERR_PG_VALUE; /* reserved bits: keep hex */
	/* an absent parameter must be all FF, or the builder would not give it back */
	static const struct {
		uint8_t bit;
		size_t off, len;
	} fields[] = {{0x01, 1, 12}, {0x02, 13, 12}, {0x04, 25, 1}, {0x08, 26, 1}, {0x10, 27, 1}};
	for (size_t k = 0; k < N(fields); k++)
		for (size_t i = 0; (ind & fields[k].bit) && i < fields[k].len; i++)
			if (t[fields[k].off + i] != 0xFF)
				return DP_ERR_PG_VALUE;
	int r = DP_OK;
	size_t start = o->len;
	struct dp_buf text;
	enum coding c;
	dp_buf_init(&text, MAX_TEXT * 3);
	r = alpha_decode(b, y, &text, &c);
	dp_buf_deinit(&text);
	if (r)
		return r;
	/* the dash goes on the first line of the record */
	r = dp_buf_printf(o, "%*s- alphaIdLength: %zu\n", indent, "", y);
	r = r ? r : dump_alpha(b, y, indent + 2, "alphaId", "alphaIdCoding", o);
	if (r == DP_OK && !(ind & 0x01))
		r = dump_addr(t + 1, false, indent + 2, "destinationAddress", o);
	if (r == DP_OK && !(ind & 0x02))
		r = dump_addr(t + 13, true, indent + 2, "serviceCentreAddress", o);
	if (r == DP_OK && !(ind & 0x04))
		r = dp_buf_printf(o, "%*sprotocolId: %u\n", indent + 2, "", t[25]);
	if (r == DP_OK && !(ind & 0x08))
		r = dp_buf_printf(o, "%*sdataCodingScheme: %u\n", indent + 2, "", t[26]);
	if (r == DP_OK && !(ind & 0x10))
		r = dump_vp(t[27], indent + 2, o);
	if (r)
		o->len = start;
	return r;
}

static int dump_smsp(const uint8_t *b, size_t n, size_t record_len, int indent, struct dp_buf *o)
{
	if (record_len < SMSP_FIXED || n % record_len != 0)
		record_len = n; /* one record */
	int r = n ? DP_OK : DP_ERR_PG_VALUE;
	for (size_t off = 0; off < n && r == DP_OK; off += record_len)
		r = dump_smsp_record(b + off, record_len, indent, o);
	return r;
}

/* ======================================================================================
 * entry points
 * ==================================================================================== */

int dp_pg_ef_build(struct dp_pg_ydoc *y, int kind, yaml_node_t *v, struct dp_buf *out)
{
	if (kind == DP_PG_EF_SPN)
		return build_spn(y, v, out);
	if (kind == DP_PG_EF_SMSP)
		return build_smsp(y, v, out);
	return dp_pg_yerr(y, v, DP_ERR_PG_SCHEMA, "expected hex");
}

/* Builds the YAML just written back and compares: only an exact round trip is kept. */
static int same_again(int kind, const struct dp_buf *yaml, const uint8_t *b, size_t n)
{
	struct dp_pg_ydoc y;
	struct dp_buf again;
	dp_buf_init(&again, n + 64);
	int r = dp_pg_ydoc_load(&y, "(ef)", (const char *)yaml->data, yaml->len);
	if (r == DP_OK) {
		r = dp_pg_ef_build(&y, kind, dp_pg_ydoc_root(&y), &again);
		dp_pg_ydoc_deinit(&y);
	}
	if (r == DP_OK && (again.len != n || memcmp(again.data, b, n) != 0))
		r = DP_ERR_PG_VALUE;
	dp_buf_deinit(&again);
	dp_err_clear();
	return r;
}

int dp_pg_ef_dump(int kind, const uint8_t *b, size_t n, size_t record_len, int indent,
		  struct dp_buf *out)
{
	struct dp_buf t;
	dp_buf_init(&t, 64u << 10);
	int r = DP_ERR_PG_VALUE;
	if (kind == DP_PG_EF_SPN)
		r = dump_spn(b, n, indent, &t);
	else if (kind == DP_PG_EF_SMSP)
		r = dump_smsp(b, n, record_len, indent, &t);
	r = r ? r : same_again(kind, &t, b, n);
	r = r ? r : dp_buf_append(out, t.data, t.len);
	dp_buf_deinit(&t);
	return r;
}
