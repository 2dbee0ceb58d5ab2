/* Profile package -> YAML. Each PE is written with named fields, then built back from that
 * YAML; when the bytes differ (a DEFAULT value encoded explicitly, a member the schema does
 * not know, non-canonical content) the PE is written as raw: hex instead, so that building
 * the dump always reproduces the package byte for byte. */
#include <string.h>

#include "pki/base/codec.h"
#include "profilegen/model.h"
#include "profilegen/profilegen.h"

static int roundtrips(const uint8_t *der, size_t len, const struct dp_buf *item)
{
	struct dp_buf doc;
	struct dp_pg_package p;
	dp_buf_init_secret(&doc, item->len + 32);
	dp_pg_package_init(&p);
	int r = dp_buf_append_str(&doc, "elements:\n");
	r = r ? r : dp_buf_append(&doc, item->data, item->len);
	r = r ? r : dp_pg_build_yaml("(dump)", (const char *)doc.data, doc.len, NULL, &p);
	if (r == DP_OK && (p.n != 1 || p.pes[0].len != len || memcmp(p.pes[0].der, der, len) != 0))
		r = DP_ERR_PG_VALUE;
	dp_pg_package_deinit(&p);
	dp_buf_deinit(&doc);
	return r;
}

int dp_pg_dump(const struct dp_pg_package *p, struct dp_buf *yaml)
{
	struct dp_buf item;
	int r = dp_buf_append_str(yaml, "# SAIP profile package, written by profilegen dump.\n"
					"# Schema: config/profiles/README.md. PEs in package order.\n"
					"elements:\n");
	dp_buf_init_secret(&item, DP_PG_MAX_PE * 4);
	for (size_t i = 0; i < p->n && r == DP_OK; i++) {
		const struct dp_pg_pe *pe = &p->pes[i];
		dp_buf_reset(&item);
		if (dp_pg_pe_dump(pe->der, pe->len, 0, &item) == DP_OK &&
		    roundtrips(pe->der, pe->len, &item) == DP_OK) {
			r = dp_buf_append(yaml, item.data, item.len);
			continue;
		}
		r = dp_buf_append_str(yaml, "  - raw: ");
		r = r ? r : dp_hex_encode_buf(pe->der, pe->len, true, yaml);
		r = r ? r : dp_buf_append_str(yaml, "\n");
	}
	dp_buf_deinit(&item);
	dp_err_clear();
	return r;
}
