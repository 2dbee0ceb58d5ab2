/* Member tables of the SAIP file-system template PEs, generated at build time from
 * schemas/saip_pe_definitions.asn by gen_templates.py. */
#ifndef DP_PROFILEGEN_TEMPLATES_H
#define DP_PROFILEGEN_TEMPLATES_H

#include <stdbool.h>
#include <stddef.h>

struct dp_pg_tpl_member {
	const char *name; /* "ef-imsi" */
	bool optional;
};

struct dp_pg_tpl {
	const char *alt;    /* ProfileElement alternative: "usim" */
	const char *header; /* its PEHeader member: "usim-header" */
	const struct dp_pg_tpl_member *members; /* File members in ASN.1 order */
	size_t n;
};

extern const struct dp_pg_tpl dp_pg_tpls[];
extern const size_t dp_pg_n_tpls;

#endif
