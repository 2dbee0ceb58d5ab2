/* Profile packages as a list of PE TLVs, and in-place personalisation ("stamping").
 * SAIP 3.3.1 section 2.3 (UPP = concatenated ProfileElements). */
#include <stdlib.h>
#include <string.h>

#include "pki/asn1/asn1.h"
#include "pki/asn1/tlv.h"
#include "pki/base/secure.h"
#include "profilegen/profilegen.h"

void dp_pg_package_init(struct dp_pg_package *p)
{
	memset(p, 0, sizeof(*p));
}

void dp_pg_package_deinit(struct dp_pg_package *p)
{
	for (size_t i = 0; i < p->n; i++)
		dp_free_secret(p->pes[i].der, p->pes[i].len);
	free(p->pes);
	memset(p, 0, sizeof(*p));
}

int dp_pg_package_add(struct dp_pg_package *p, const uint8_t *der, size_t len)
{
	if (p->n >= DP_PG_MAX_PES)
		return dp_err_set(DP_ERR_TOO_LONG, "more than %u profile elements", DP_PG_MAX_PES);
	if (len == 0 || len > DP_PG_MAX_PE)
		return dp_err_set(DP_ERR_TOO_LONG, "profile element of %zu bytes", len);
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 32;
		struct dp_pg_pe *n = realloc(p->pes, cap * sizeof(*n));
		if (n == NULL)
			return dp_err_set(DP_ERR_NOMEM, "package");
		p->pes = n;
		p->cap = cap;
	}
	uint8_t *c = malloc(len);
	if (c == NULL)
		return dp_err_set(DP_ERR_NOMEM, "profile element");
	memcpy(c, der, len);
	p->pes[p->n].der = c;
	p->pes[p->n].len = len;
	p->n++;
	return DP_OK;
}

int dp_pg_package_replace(struct dp_pg_package *p, size_t i, const uint8_t *der, size_t len)
{
	if (i >= p->n || len == 0 || len > DP_PG_MAX_PE)
		return dp_err_set(DP_ERR_INVAL, "replace PE %zu", i);
	uint8_t *c = malloc(len);
	if (c == NULL)
		return dp_err_set(DP_ERR_NOMEM, "profile element");
	memcpy(c, der, len);
	dp_free_secret(p->pes[i].der, p->pes[i].len);
	p->pes[i].der = c;
	p->pes[i].len = len;
	return DP_OK;
}

int dp_pg_package_parse(const uint8_t *der, size_t len, struct dp_pg_package *p)
{
	if (len == 0)
		return dp_err_set(DP_ERR_EMPTY, "empty profile package");
	if (len > DP_PG_MAX_PACKAGE)
		return dp_err_set(DP_ERR_TOO_LONG, "package of %zu bytes", len);
	struct dp_cursor c = dp_cursor_make(der, len);
	while (!dp_cursor_done(&c)) {
		struct dp_tlv t;
		size_t off = len - c.len;
		int r = dp_tlv_next(&c, &t);
		if (r)
			return dp_err_wrap(DP_ERR_PG_PACKAGE, "PE %zu at offset %zu", p->n + 1, off);
		const char *alt;
		if (dp_asn1_pe_alternative(t.tag, &alt) != DP_OK)
			return dp_err_set(DP_ERR_PG_PACKAGE,
					  "PE %zu at offset %zu: tag %X is not a ProfileElement",
					  p->n + 1, off, t.tag);
		r = dp_pg_package_add(p, t.raw, t.raw_len);
		if (r)
			return r;
	}
	return DP_OK;
}

int dp_pg_package_der(const struct dp_pg_package *p, struct dp_buf *out)
{
	for (size_t i = 0; i < p->n; i++) {
		int r = dp_buf_append(out, p->pes[i].der, p->pes[i].len);
		if (r)
			return r;
	}
	return DP_OK;
}

/* ---- stamping ---------------------------------------------------------------------- */

enum slot {
	S_ICCID_HDR, S_ICCID_EF, S_IMSI, S_ACC, S_KI, S_OPC,
	S_PIN1, S_PUK1, S_PIN2, S_PUK2, S_ADM1, S_ADM2, S_COUNT
};

static const char *const slot_names[S_COUNT] = {
	"header ICCID", "EF.ICCID", "EF.IMSI", "EF.ACC", "Ki", "OPc",
	"PIN1", "PUK1", "PIN2", "PUK2", "ADM1", "ADM2",
};

struct place {
	enum slot slot;
	size_t off; /* value offset in the package */
	size_t len;
};

#define MAX_PLACES 64

struct dp_pg_stamp {
	uint8_t *tpl;
	size_t len;
	struct place places[MAX_PLACES];
	size_t n;
};

static int add_place(struct dp_pg_stamp *s, enum slot slot, const uint8_t *base,
		     const struct dp_tlv *t)
{
	if (s->n == MAX_PLACES)
		return dp_err_set(DP_ERR_TOO_LONG, "too many personal fields");
	s->places[s->n].slot = slot;
	s->places[s->n].off = (size_t)(t->value - base);
	s->places[s->n].len = t->len;
	s->n++;
	return DP_OK;
}

/* The first fillFileContent of a File member (tag `member` inside a file-system PE). */
static int find_fill(const struct dp_tlv *pe, uint32_t member, struct dp_tlv *fill)
{
	struct dp_tlv m;
	if (dp_tlv_find(pe->value, pe->len, member, &m) != DP_OK)
		return DP_ERR_NOT_FOUND;
	return dp_tlv_find(m.value, m.len, 0x83, fill) == DP_OK ? DP_OK : DP_ERR_NOT_FOUND;
}

static enum slot pin_slot(uint8_t ref, bool puk)
{
	if (puk)
		return ref == 0x01 ? S_PUK1 : ref == 0x81 ? S_PUK2 : S_COUNT;
	switch (ref) {
	case 0x01: return S_PIN1;
	case 0x81: return S_PIN2;
	case 0x0A: return S_ADM1;
	case 0x0B: return S_ADM2;
	default: return S_COUNT;
	}
}

/* PINConfiguration / PUKConfiguration list: SEQUENCEs of keyReference 80, value 81. */
static int scan_codes(struct dp_pg_stamp *s, const uint8_t *p, size_t n, bool puk)
{
	struct dp_cursor c = dp_cursor_make(p, n);
	while (!dp_cursor_done(&c)) {
		struct dp_tlv cfg, ref, val;
		if (dp_tlv_next(&c, &cfg) != DP_OK)
			return DP_OK; /* malformed: dp_pg_check reports it */
		if (cfg.tag != 0x30 || dp_tlv_find(cfg.value, cfg.len, 0x80, &ref) != DP_OK ||
		    ref.len < 1 || ref.len > 2 || (ref.len == 2 && ref.value[0] != 0) ||
		    dp_tlv_find(cfg.value, cfg.len, 0x81, &val) != DP_OK || val.len != 8)
			continue;
		/* INTEGER: 0x81 (129) is written 00 81 */
		enum slot sl = pin_slot(ref.value[ref.len - 1], puk);
		if (sl != S_COUNT) {
			int r = add_place(s, sl, s->tpl, &val);
			if (r)
				return r;
		}
	}
	return DP_OK;
}

static int scan(struct dp_pg_stamp *s)
{
	struct dp_cursor c = dp_cursor_make(s->tpl, s->len);
	int r = DP_OK;
	while (!dp_cursor_done(&c) && r == DP_OK) {
		struct dp_tlv pe, t, u;
		r = dp_tlv_next(&c, &pe);
		if (r)
			return dp_err_wrap(DP_ERR_PG_PACKAGE, "package");
		switch (pe.tag) {
		case 0xA0: /* header: iccid [3] */
			if (dp_tlv_find(pe.value, pe.len, 0x83, &t) == DP_OK && t.len == 10)
				r = add_place(s, S_ICCID_HDR, s->tpl, &t);
			break;
		case 0xB0: /* mf: ef-iccid [4] */
			if (find_fill(&pe, 0xA4, &t) == DP_OK && t.len == 10)
				r = add_place(s, S_ICCID_EF, s->tpl, &t);
			break;
		case 0xB3: /* usim: ef-imsi [3], ef-acc [18] */
			if (find_fill(&pe, 0xA3, &t) == DP_OK && t.len == 9)
				r = add_place(s, S_IMSI, s->tpl, &t);
			if (r == DP_OK && find_fill(&pe, 0xB2, &t) == DP_OK && t.len == 2)
				r = add_place(s, S_ACC, s->tpl, &t);
			break;
		case 0xA4: /* akaParameter: algoConfiguration [1] EXPLICIT / algoParameter [1] */
			if (dp_tlv_path(&pe, &t, 2, 0xA1, 0xA1) != DP_OK)
				break;
			if (dp_tlv_find(t.value, t.len, 0x82, &u) == DP_OK)
				r = add_place(s, S_KI, s->tpl, &u);
			if (r == DP_OK && dp_tlv_find(t.value, t.len, 0x83, &u) == DP_OK)
				r = add_place(s, S_OPC, s->tpl, &u);
			break;
		case 0xA2: /* pinCodes [1] EXPLICIT / pinconfig [0] */
			if (dp_tlv_path(&pe, &t, 2, 0xA1, 0xA0) == DP_OK)
				r = scan_codes(s, t.value, t.len, false);
			break;
		case 0xA3: /* pukCodes [1] */
			if (dp_tlv_path(&pe, &t, 1, 0xA1) == DP_OK)
				r = scan_codes(s, t.value, t.len, true);
			break;
		default:
			break;
		}
	}
	return r;
}

int dp_pg_stamp_new(const struct dp_pg_package *tpl, struct dp_pg_stamp **out)
{
	int r;
	struct dp_buf b;
	struct dp_pg_stamp *s = calloc(1, sizeof(*s));
	dp_buf_init_secret(&b, DP_PG_MAX_PACKAGE);
	*out = NULL;
	if (s == NULL) {
		r = dp_err_set(DP_ERR_NOMEM, "stamp");
		goto out;
	}
	r = dp_pg_package_der(tpl, &b);
	if (r)
		goto out;
	s->tpl = dp_buf_take(&b, &s->len);
	r = scan(s);
	if (r)
		goto out;
	*out = s;
	s = NULL;
out:
	dp_pg_stamp_free(s);
	dp_buf_deinit(&b);
	return r;
}

void dp_pg_stamp_free(struct dp_pg_stamp *s)
{
	if (s == NULL)
		return;
	dp_free_secret(s->tpl, s->len);
	free(s);
}

/* The bytes for one slot, or n = 0 when the profile does not set it. */
static int slot_value(const struct dp_pg_personal *p, enum slot sl, uint8_t v[32], size_t *n)
{
	const char *pin = NULL;
	*n = 0;
	switch (sl) {
	case S_ICCID_HDR:
		if (!p->has_iccid)
			return DP_OK;
		*n = 10;
		return dp_pg_iccid_header(p->iccid, v);
	case S_ICCID_EF:
		if (!p->has_iccid)
			return DP_OK;
		*n = 10;
		return dp_pg_iccid_ef(p->iccid, v);
	case S_IMSI:
		if (!p->has_imsi)
			return DP_OK;
		*n = 9;
		return dp_pg_imsi_ef(p->imsi, v);
	case S_ACC:
		if (!p->has_imsi)
			return DP_OK;
		*n = 2;
		dp_pg_acc_from_imsi(p->imsi, v);
		return DP_OK;
	case S_KI:
		memcpy(v, p->ki, p->ki_len);
		*n = p->ki_len;
		return DP_OK;
	case S_OPC:
		memcpy(v, p->opc, p->opc_len);
		*n = p->opc_len;
		return DP_OK;
	case S_PIN1: pin = p->pin1; break;
	case S_PUK1: pin = p->puk1; break;
	case S_PIN2: pin = p->pin2; break;
	case S_PUK2: pin = p->puk2; break;
	case S_ADM1: pin = p->adm1; break;
	case S_ADM2: pin = p->adm2; break;
	default:
		return dp_err_set(DP_ERR_INTERNAL, "slot %d", (int)sl);
	}
	if (pin[0] == '\0')
		return DP_OK;
	*n = 8;
	return dp_pg_pin_encode(pin, v);
}

/* Slots the IMSI does not imply: those the caller must find a place for (EF.ACC is
 * written only where the template has one). */
static bool slot_required(enum slot sl)
{
	return sl != S_ACC;
}

int dp_pg_stamp_apply(const struct dp_pg_stamp *s, const struct dp_pg_personal *pers,
		      struct dp_buf *out)
{
	uint8_t v[32];
	bool placed[S_COUNT] = { false };
	int r;
	dp_buf_reset(out);
	r = dp_buf_append(out, s->tpl, s->len);
	if (r)
		return r;
	for (size_t i = 0; i < s->n; i++) {
		const struct place *pl = &s->places[i];
		size_t n;
		r = slot_value(pers, pl->slot, v, &n);
		if (r)
			goto out;
		if (n == 0)
			continue;
		if (n != pl->len) {
			r = dp_err_set(DP_ERR_PG_VALUE, "%s: %zu bytes given, the template has %zu",
				       slot_names[pl->slot], n, pl->len);
			goto out;
		}
		memcpy(out->data + pl->off, v, n);
		placed[pl->slot] = true;
	}
	for (int sl = 0; sl < S_COUNT; sl++) {
		size_t n;
		r = slot_value(pers, (enum slot)sl, v, &n);
		if (r)
			goto out;
		if (n && !placed[sl] && slot_required((enum slot)sl)) {
			r = dp_err_set(DP_ERR_PG_PACKAGE, "the package has no %s to personalise",
				       slot_names[sl]);
			goto out;
		}
	}
	r = DP_OK;
out:
	dp_wipe(v, sizeof(v));
	return r;
}

void dp_pg_stamp_key_lengths(const struct dp_pg_stamp *s, size_t *ki, size_t *opc)
{
	*ki = *opc = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (s->places[i].slot == S_KI && *ki == 0)
			*ki = s->places[i].len;
		if (s->places[i].slot == S_OPC && *opc == 0)
			*opc = s->places[i].len;
	}
}

int dp_pg_personalise(struct dp_pg_package *p, const struct dp_pg_personal *pers)
{
	struct dp_pg_stamp *s = NULL;
	struct dp_buf b;
	struct dp_pg_package np;
	dp_buf_init_secret(&b, DP_PG_MAX_PACKAGE);
	dp_pg_package_init(&np);
	int r = dp_pg_stamp_new(p, &s);
	if (r)
		goto out;
	r = dp_pg_stamp_apply(s, pers, &b);
	if (r)
		goto out;
	r = dp_pg_package_parse(b.data, b.len, &np);
	if (r)
		goto out;
	dp_pg_package_deinit(p);
	*p = np;
	dp_pg_package_init(&np);
out:
	dp_pg_package_deinit(&np);
	dp_buf_deinit(&b);
	dp_pg_stamp_free(s);
	return r;
}
