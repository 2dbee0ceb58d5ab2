/* Batch personalisation from one template: ICCID/IMSI ranges, random or CSV secrets,
 * one DER per profile and the operator CSV for the HSS/UDM (format in profilegen.h and
 * config/profiles/README.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>

#include "pki/base/codec.h"
#include "pki/base/secure.h"
#include "profilegen/pgio.h"
#include "profilegen/profilegen.h"

enum col { C_ICCID, C_IMSI, C_KI, C_OPC, C_PIN1, C_PUK1, C_PIN2, C_PUK2, C_ADM1, C_COUNT };
static const char *const col_names[C_COUNT] = { "ICCID", "IMSI", "Ki", "OPc", "PIN1", "PUK1",
	"PIN2", "PUK2", "ADM1" };

/* Adds 1 to a decimal string in place; DP_ERR_TOO_LONG when it would need another digit. */
static int increment(char *s, size_t n)
{
	for (size_t i = n; i-- > 0;) {
		if (s[i] != '9') {
			s[i]++;
			return DP_OK;
		}
		s[i] = '0';
	}
	return dp_err_set(DP_ERR_TOO_LONG, "range overflows %zu digits", n);
}

static int random_digits(char *out, size_t n)
{
	uint8_t b[16];
	size_t got = 0;
	while (got < n) {
		if (RAND_bytes(b, sizeof(b)) != 1)
			return dp_err_set(DP_ERR_CRYPTO, "RAND_bytes");
		for (size_t i = 0; i < sizeof(b) && got < n; i++)
			if (b[i] < 250) /* rejection sampling: no modulo bias */
				out[got++] = (char)('0' + b[i] % 10);
	}
	out[n] = '\0';
	dp_wipe(b, sizeof(b));
	return DP_OK;
}

/* CSV: header line naming columns, then rows; no quoting (values are digits and hex). */
struct csv {
	struct dp_buf text;
	char *pos;
	int map[32]; /* field index -> enum col, or -1 */
	size_t nf;
};

static int csv_open(struct csv *c, const char *path)
{
	dp_buf_init_secret(&c->text, 256u << 20);
	int r = dp_pg_read_file(path, 256u << 20, &c->text);
	const char *s;
	r = r ? r : dp_buf_cstr(&c->text, &s);
	if (r)
		return r;
	c->pos = (char *)s;
	char *nl = strchr(c->pos, '\n');
	if (nl == NULL)
		return dp_err_set(DP_ERR_PG_VALUE, "%s: no header line", path);
	*nl = '\0';
	c->nf = 0;
	for (char *tok = c->pos, *end; tok && c->nf < 32; tok = end ? end + 1 : NULL) {
		end = strchr(tok, ',');
		if (end)
			*end = '\0';
		size_t l = strlen(tok);
		if (l && tok[l - 1] == '\r')
			tok[l - 1] = '\0';
		c->map[c->nf] = -1;
		for (int k = 0; k < C_COUNT; k++)
			if (strcasecmp(tok, col_names[k]) == 0)
				c->map[c->nf] = k;
		c->nf++;
	}
	c->pos = nl + 1;
	return DP_OK;
}

/* Next row into vals (pointers into the text); false at the end. */
static bool csv_row(struct csv *c, const char *vals[C_COUNT], size_t *line)
{
	for (;;) {
		if (*c->pos == '\0')
			return false;
		char *nl = strchr(c->pos, '\n');
		char *row = c->pos;
		if (nl) {
			*nl = '\0';
			c->pos = nl + 1;
		} else {
			c->pos += strlen(c->pos);
		}
		(*line)++;
		size_t l = strlen(row);
		if (l && row[l - 1] == '\r')
			row[--l] = '\0';
		if (l == 0)
			continue;
		for (int k = 0; k < C_COUNT; k++)
			vals[k] = NULL;
		size_t f = 0;
		for (char *tok = row, *end; tok && f < c->nf; tok = end ? end + 1 : NULL, f++) {
			end = strchr(tok, ',');
			if (end)
				*end = '\0';
			if (c->map[f] >= 0 && *tok)
				vals[c->map[f]] = tok;
		}
		return true;
	}
}

static int hex_field(const char *v, uint8_t *out, size_t want, const char *what, size_t line)
{
	size_t got;
	if (dp_hex_decode(v, strlen(v), out, 32, &got) != DP_OK || got != want)
		return dp_err_set(DP_ERR_PG_VALUE, "CSV line %zu: %s must be %zu bytes of hex", line,
				  what, want);
	return DP_OK;
}

static int write_csv(FILE *f, const struct dp_pg_personal *p)
{
	char ki[65], opc[65];
	if (dp_hex_encode(p->ki, p->ki_len, true, ki, sizeof(ki)) != DP_OK ||
	    dp_hex_encode(p->opc, p->opc_len, true, opc, sizeof(opc)) != DP_OK)
		return dp_err_set(DP_ERR_INTERNAL, "hex");
	int n = fprintf(f, "%s,%s,%s,%s,%s,%s,%s,%s,%s\n", p->iccid, p->imsi, ki, opc, p->pin1,
			p->puk1, p->pin2, p->puk2, p->adm1);
	dp_wipe(ki, sizeof(ki));
	dp_wipe(opc, sizeof(opc));
	return n < 0 ? dp_err_set(DP_ERR_IO, "writing the operator file") : DP_OK;
}

static int write_der(const char *dir, const char *iccid, const struct dp_buf *der)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s.der", dir, iccid);
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		return dp_err_set(DP_ERR_IO, "%s: %s", path, strerror(errno));
	size_t w = fwrite(der->data, 1, der->len, f);
	int c = fclose(f);
	if (w != der->len || c != 0)
		return dp_err_set(DP_ERR_IO, "%s: write failed", path);
	return DP_OK;
}

int dp_pg_batch_run(const struct dp_pg_package *tpl, const struct dp_pg_batch *b)
{
	struct dp_pg_stamp *st = NULL;
	struct dp_pg_personal p;
	struct dp_buf der;
	struct csv csv;
	bool use_csv = b->csv_in != NULL;
	char iccid_payload[21] = "", imsi[16] = "";
	size_t ki_len, opc_len, line = 1;
	memset(&p, 0, sizeof(p));
	memset(&csv, 0, sizeof(csv));
	dp_buf_init_secret(&csv.text, 0);
	dp_buf_init_secret(&der, DP_PG_MAX_PACKAGE);
	int r = dp_pg_stamp_new(tpl, &st);
	if (r)
		goto out;
	dp_pg_stamp_key_lengths(st, &ki_len, &opc_len);
	if (ki_len == 0 || opc_len == 0) {
		r = dp_err_set(DP_ERR_PG_PACKAGE, "the template has no algoParameter with key/opc");
		goto out;
	}
	if (b->op && (ki_len != 16 || opc_len != 16)) {
		r = dp_err_set(DP_ERR_PG_VALUE, "OP needs Milenage (16-byte Ki and OPc)");
		goto out;
	}
	if (b->iccid_first) {
		char norm[21];
		r = dp_pg_iccid_normalise(b->iccid_first, norm);
		if (r)
			goto out;
		memcpy(iccid_payload, norm, strlen(norm) - 1); /* counting without the Luhn digit */
	}
	if (b->imsi_first) {
		uint8_t tmp[9];
		r = dp_pg_imsi_ef(b->imsi_first, tmp);
		if (r)
			goto out;
		snprintf(imsi, sizeof(imsi), "%s", b->imsi_first);
	}
	if (use_csv) {
		r = csv_open(&csv, b->csv_in);
		if (r)
			goto out;
	}
	if (b->csv_out && fprintf(b->csv_out, "ICCID,IMSI,Ki,OPc,PIN1,PUK1,PIN2,PUK2,ADM1\n") < 0) {
		r = dp_err_set(DP_ERR_IO, "writing the operator file");
		goto out;
	}
	size_t total = use_csv ? 0 : b->count;
	for (size_t i = 0; use_csv || i < b->count; i++) {
		const char *vals[C_COUNT] = { NULL };
		if (use_csv && !csv_row(&csv, vals, &line))
			break;
		dp_pg_personal_wipe(&p);
		/* ICCID */
		if (vals[C_ICCID]) {
			r = dp_pg_iccid_normalise(vals[C_ICCID], p.iccid);
		} else if (iccid_payload[0]) {
			size_t n = strlen(iccid_payload);
			memcpy(p.iccid, iccid_payload, n);
			p.iccid[n] = dp_pg_luhn_digit(iccid_payload, n);
			p.iccid[n + 1] = '\0';
			r = increment(iccid_payload, n);
		} else {
			r = dp_err_set(DP_ERR_PG_VALUE, "no ICCID for profile %zu", i + 1);
		}
		if (r)
			goto out;
		p.has_iccid = true;
		/* IMSI */
		if (vals[C_IMSI]) {
			snprintf(p.imsi, sizeof(p.imsi), "%s", vals[C_IMSI]);
			p.has_imsi = true;
		} else if (imsi[0]) {
			memcpy(p.imsi, imsi, sizeof(imsi));
			p.has_imsi = true;
			r = increment(imsi, strlen(imsi));
			if (r)
				goto out;
		}
		/* keys */
		p.ki_len = ki_len;
		p.opc_len = opc_len;
		r = vals[C_KI] ? hex_field(vals[C_KI], p.ki, ki_len, "Ki", line)
			       : (RAND_bytes(p.ki, (int)ki_len) == 1 ? DP_OK
								      : dp_err_set(DP_ERR_CRYPTO, "RAND"));
		if (r)
			goto out;
		if (vals[C_OPC])
			r = hex_field(vals[C_OPC], p.opc, opc_len, "OPc", line);
		else if (b->op)
			r = dp_pg_opc_from_op(p.ki, b->op, p.opc);
		else if (RAND_bytes(p.opc, (int)opc_len) != 1)
			r = dp_err_set(DP_ERR_CRYPTO, "RAND");
		if (r)
			goto out;
		/* codes */
		struct {
			char *dst;
			enum col c;
			size_t n;
		} codes[] = { { p.pin1, C_PIN1, 4 }, { p.puk1, C_PUK1, 8 }, { p.pin2, C_PIN2, 4 },
			      { p.puk2, C_PUK2, 8 }, { p.adm1, C_ADM1, 8 } };
		for (size_t k = 0; k < sizeof(codes) / sizeof(codes[0]) && r == DP_OK; k++) {
			if (vals[codes[k].c] && strlen(vals[codes[k].c]) < 9)
				snprintf(codes[k].dst, 9, "%s", vals[codes[k].c]);
			else if (vals[codes[k].c])
				r = dp_err_set(DP_ERR_PG_VALUE, "CSV line %zu: %s too long", line,
					       col_names[codes[k].c]);
			else
				r = random_digits(codes[k].dst, codes[k].n);
		}
		r = r ? r : dp_pg_stamp_apply(st, &p, &der);
		if (r && use_csv)
			r = dp_err_wrap(r, "CSV line %zu", line);
		if (r == DP_OK && b->out_dir)
			r = write_der(b->out_dir, p.iccid, &der);
		if (r == DP_OK && b->csv_out)
			r = write_csv(b->csv_out, &p);
		if (r)
			goto out;
		if (b->progress)
			b->progress(i + 1, total, b->progress_arg);
	}
	r = DP_OK;
out:
	dp_pg_personal_wipe(&p);
	dp_buf_deinit(&der);
	dp_buf_deinit(&csv.text);
	dp_pg_stamp_free(st);
	return r;
}
