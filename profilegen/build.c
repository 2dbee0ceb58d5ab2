/* YAML -> profile package: base package, element list, personalisation overrides
 * (schema: config/profiles/README.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pki/asn1/asn1.h"
#include "pki/asn1/tlv.h"
#include "pki/base/codec.h"
#include "pki/base/secure.h"
#include "profilegen/model.h"
#include "profilegen/pgio.h"
#include "profilegen/profilegen.h"
#include "profilegen/yamldoc.h"

int dp_pg_read_file(const char *path, size_t max, struct dp_buf *out)
{
	/* at most `max` more bytes, whatever the buffer's own limit */
	size_t saved = out->max;
	if (max < out->max - out->len)
		out->max = out->len + max;
	int r = dp_buf_read_file(out, path);
	out->max = saved;
	return r;
}

static const char *const top_keys[] = { "base", "elements", "personalisation", "metadata",
	NULL };
static const char *const pers_keys[] = { "iccid", "imsi", "ki", "opc", "op", "pin1", "puk1",
	"pin2", "puk2", "adm1", "adm2", NULL };

static int load_base(struct dp_pg_ydoc *y, yaml_node_t *v, const char *base_dir,
		     struct dp_pg_package *out)
{
	char path[4096];
	struct dp_buf der;
	dp_buf_init_secret(&der, DP_PG_MAX_PACKAGE);
	size_t mark = dp_pg_ypush(y, "base");
	int r = dp_pg_ypath(y, v, base_dir, path, sizeof(path));
	if (r)
		goto out;
	r = dp_pg_read_file(path, DP_PG_MAX_PACKAGE, &der);
	if (r) {
		r = dp_pg_yerr(y, v, r, "%s", dp_err_detail());
		goto out;
	}
	r = dp_pg_package_parse(der.data, der.len, out);
	for (size_t i = 0; r == DP_OK && i < out->n; i++) {
		asn1_node n = NULL;
		const char *alt;
		r = dp_asn1_decode_pe(out->pes[i].der, out->pes[i].len, &n, &alt);
		dp_asn1_free(&n);
		if (r)
			r = dp_err_wrap(r, "PE %zu", i + 1);
	}
	if (r)
		r = dp_pg_yerr(y, v, DP_ERR_PG_PACKAGE, "base package %s does not decode: %s", path,
			       dp_err_detail());
out:
	dp_pg_ypop(y, mark);
	dp_buf_deinit(&der);
	return r;
}

static int add_raw(struct dp_pg_ydoc *y, yaml_node_t *v, struct dp_pg_package *out)
{
	const char *s;
	struct dp_buf der;
	struct dp_tlv t;
	const char *alt;
	dp_buf_init_secret(&der, DP_PG_MAX_PE);
	size_t mark = dp_pg_ypush(y, "raw");
	int r = dp_pg_yscalar(y, v, &s);
	if (r == DP_OK && dp_hex_decode_buf(s, strlen(s), &der) != DP_OK)
		r = dp_pg_yerr(y, v, DP_ERR_PG_VALUE, "not hex: %s", dp_err_detail());
	if (r == DP_OK && (dp_tlv_expect(der.data, der.len, 0, &t) != DP_OK ||
			   dp_asn1_pe_alternative(t.tag, &alt) != DP_OK))
		r = dp_pg_yerr(y, v, DP_ERR_PG_VALUE, "not one ProfileElement TLV: %s",
			       dp_err_detail());
	if (r == DP_OK)
		r = dp_pg_package_add(out, der.data, der.len);
	dp_pg_ypop(y, mark);
	dp_buf_deinit(&der);
	return r;
}

static int build_elements(struct dp_pg_ydoc *y, yaml_node_t *v, struct dp_pg_package *out)
{
	size_t mark = dp_pg_ypush(y, "elements");
	int r = DP_OK;
	struct dp_buf der;
	dp_buf_init_secret(&der, DP_PG_MAX_PE);
	if (v->type != YAML_SEQUENCE_NODE) {
		r = dp_pg_yerr(y, v, DP_ERR_PG_SCHEMA, "expected a list of profile elements");
		goto out;
	}
	size_t i = 0;
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++, i++) {
		yaml_node_t *e = dp_pg_ynode(y, *it);
		size_t m2 = dp_pg_ypush_index(y, i);
		if (e->type != YAML_MAPPING_NODE ||
		    e->data.mapping.pairs.top - e->data.mapping.pairs.start != 1) {
			r = dp_pg_yerr(y, e, DP_ERR_PG_SCHEMA,
				       "expected one key: the element type (or raw)");
			goto out;
		}
		yaml_node_t *k = dp_pg_ynode(y, e->data.mapping.pairs.start->key);
		yaml_node_t *c = dp_pg_ynode(y, e->data.mapping.pairs.start->value);
		const char *alt;
		r = dp_pg_yscalar(y, k, &alt);
		if (r)
			goto out;
		if (strcmp(alt, "raw") == 0) {
			r = add_raw(y, c, out);
		} else if (!dp_pg_pe_known(alt)) {
			r = dp_pg_yerr(y, k, DP_ERR_PG_SCHEMA, "unknown profile element '%s'", alt);
		} else {
			size_t m3 = dp_pg_ypush(y, alt);
			dp_buf_reset(&der);
			r = dp_pg_pe_build(y, alt, c, &der);
			if (r == DP_OK)
				r = dp_pg_package_add(out, der.data, der.len);
			dp_pg_ypop(y, m3);
		}
		dp_pg_ypop(y, m2);
		if (r)
			goto out;
	}
out:
	dp_buf_deinit(&der);
	dp_pg_ypop(y, mark);
	return r;
}

static int pers_digits(struct dp_pg_ydoc *y, yaml_node_t *map, const char *key, char *out,
		       size_t cap, bool pin)
{
	const char *s;
	yaml_node_t *v = dp_pg_yget(y, map, key);
	if (v == NULL)
		return DP_OK;
	size_t mark = dp_pg_ypush(y, key);
	int r = dp_pg_yscalar(y, v, &s);
	uint8_t tmp[9];
	if (r == DP_OK && strlen(s) >= cap)
		r = dp_pg_yerr(y, v, DP_ERR_PG_VALUE, "too long: %zu characters, at most %zu", strlen(s),
			       cap - 1);
	if (r == DP_OK && pin && dp_pg_pin_encode(s, tmp) != DP_OK)
		r = dp_pg_yerr(y, v, DP_ERR_PG_VALUE, "%s", dp_err_detail());
	if (r == DP_OK)
		snprintf(out, cap, "%s", s);
	dp_wipe(tmp, sizeof(tmp));
	dp_pg_ypop(y, mark);
	return r;
}

static int personalise(struct dp_pg_ydoc *y, yaml_node_t *v, struct dp_pg_package *out)
{
	struct dp_pg_personal p;
	char iccid[32] = "";
	uint8_t op[32];
	size_t oplen;
	yaml_node_t *nki, *nopc, *nop;
	memset(&p, 0, sizeof(p));
	size_t mark = dp_pg_ypush(y, "personalisation");
	int r = dp_pg_ymap_check(y, v, pers_keys);
	r = r ? r : pers_digits(y, v, "iccid", iccid, sizeof(iccid), false);
	if (r == DP_OK && iccid[0]) {
		yaml_node_t *n = dp_pg_yget(y, v, "iccid");
		size_t m2 = dp_pg_ypush(y, "iccid");
		r = dp_pg_iccid_normalise(iccid, p.iccid);
		if (r)
			r = dp_pg_yerr(y, n, r, "%s", dp_err_detail());
		dp_pg_ypop(y, m2);
		p.has_iccid = true;
	}
	r = r ? r : pers_digits(y, v, "imsi", p.imsi, sizeof(p.imsi), false);
	if (r == DP_OK && p.imsi[0]) {
		uint8_t ef[9];
		yaml_node_t *n = dp_pg_yget(y, v, "imsi");
		size_t m2 = dp_pg_ypush(y, "imsi");
		r = dp_pg_imsi_ef(p.imsi, ef);
		if (r)
			r = dp_pg_yerr(y, n, r, "%s", dp_err_detail());
		dp_pg_ypop(y, m2);
		p.has_imsi = true;
	}
	r = r ? r : dp_pg_yhex(y, v, "ki", p.ki, sizeof(p.ki), &p.ki_len, &nki);
	r = r ? r : dp_pg_yhex(y, v, "opc", p.opc, sizeof(p.opc), &p.opc_len, &nopc);
	r = r ? r : dp_pg_yhex(y, v, "op", op, sizeof(op), &oplen, &nop);
	if (r == DP_OK && nki && p.ki_len != 16 && p.ki_len != 32) {
		size_t m2 = dp_pg_ypush(y, "ki");
		r = dp_pg_yerr(y, nki, DP_ERR_PG_VALUE, "Ki must be 16 or 32 bytes, not %zu",
			       p.ki_len);
		dp_pg_ypop(y, m2);
	}
	if (r == DP_OK && nopc && p.opc_len != 16 && p.opc_len != 32) {
		size_t m2 = dp_pg_ypush(y, "opc");
		r = dp_pg_yerr(y, nopc, DP_ERR_PG_VALUE, "OPc must be 16 or 32 bytes, not %zu",
			       p.opc_len);
		dp_pg_ypop(y, m2);
	}
	if (r == DP_OK && nop) {
		size_t m2 = dp_pg_ypush(y, "op");
		if (nopc)
			r = dp_pg_yerr(y, nop, DP_ERR_PG_SCHEMA, "give either op or opc, not both");
		else if (oplen != 16 || p.ki_len != 16)
			r = dp_pg_yerr(y, nop, DP_ERR_PG_VALUE,
				       "OP needs a 16-byte OP and a 16-byte ki (Milenage)");
		else
			r = dp_pg_opc_from_op(p.ki, op, p.opc);
		p.opc_len = 16;
		dp_pg_ypop(y, m2);
	}
	r = r ? r : pers_digits(y, v, "pin1", p.pin1, sizeof(p.pin1), true);
	r = r ? r : pers_digits(y, v, "puk1", p.puk1, sizeof(p.puk1), true);
	r = r ? r : pers_digits(y, v, "pin2", p.pin2, sizeof(p.pin2), true);
	r = r ? r : pers_digits(y, v, "puk2", p.puk2, sizeof(p.puk2), true);
	r = r ? r : pers_digits(y, v, "adm1", p.adm1, sizeof(p.adm1), true);
	r = r ? r : pers_digits(y, v, "adm2", p.adm2, sizeof(p.adm2), true);
	if (r == DP_OK) {
		r = dp_pg_personalise(out, &p);
		if (r)
			r = dp_pg_yerr(y, v, r, "%s", dp_err_detail());
	}
	dp_pg_ypop(y, mark);
	dp_wipe(op, sizeof(op));
	dp_pg_personal_wipe(&p);
	return r;
}

int dp_pg_build_yaml(const char *name, const char *text, size_t len, const char *base_dir,
		     struct dp_pg_package *out)
{
	return dp_pg_build_yaml_meta(name, text, len, base_dir, out, NULL);
}

int dp_pg_build_yaml_meta(const char *name, const char *text, size_t len,
			  const char *base_dir, struct dp_pg_package *out,
			  struct dp_pg_metadata *meta)
{
	struct dp_pg_ydoc y;
	struct dp_pg_metadata scratch;
	if (meta == NULL)
		meta = &scratch;
	meta->present = false;
	int r = dp_asn1_init();
	if (r)
		return r;
	r = dp_pg_ydoc_load(&y, name, text, len);
	if (r)
		goto out;
	yaml_node_t *root = dp_pg_ydoc_root(&y);
	r = dp_pg_ymap_check(&y, root, top_keys);
	if (r)
		goto out;
	yaml_node_t *base = dp_pg_yget(&y, root, "base");
	yaml_node_t *elems = dp_pg_yget(&y, root, "elements");
	yaml_node_t *pers = dp_pg_yget(&y, root, "personalisation");
	if (base && elems) {
		r = dp_pg_yerr(&y, elems, DP_ERR_PG_SCHEMA, "give either base or elements, not both");
		goto out;
	}
	if (!base && !elems) {
		r = dp_pg_yerr(&y, root, DP_ERR_PG_SCHEMA, "missing 'elements' (or 'base')");
		goto out;
	}
	r = base ? load_base(&y, base, base_dir, out) : build_elements(&y, elems, out);
	if (r == DP_OK && pers)
		r = personalise(&y, pers, out);
	yaml_node_t *md = dp_pg_yget(&y, root, "metadata");
	if (r == DP_OK && md)
		r = dp_pg_metadata_parse(&y, md, base_dir, meta);
out:
	dp_pg_ydoc_deinit(&y);
	return r;
}

int dp_pg_build_file(const char *path, struct dp_pg_package *out)
{
	return dp_pg_build_file_meta(path, out, NULL);
}

int dp_pg_build_file_meta(const char *path, struct dp_pg_package *out,
			  struct dp_pg_metadata *meta)
{
	struct dp_buf text;
	char dir[4096];
	dp_buf_init_secret(&text, DP_PG_MAX_YAML);
	int r = dp_pg_read_file(path, DP_PG_MAX_YAML, &text);
	if (r)
		goto out;
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	r = dp_pg_build_yaml_meta(path, text.len ? (const char *)text.data : "", text.len, dir,
				  out, meta);
out:
	dp_buf_deinit(&text);
	return r;
}
