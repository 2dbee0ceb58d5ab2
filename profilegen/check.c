/* Package validation: structure (SAIP 3.3.1 section 7.1: header first, end last), every PE
 * decodes, identifiers, header services/templates backed by content, key lengths.
 * Each rule has a name that the failure reports. */
#include <stdlib.h>
#include <string.h>

#include "pki/asn1/asn1.h"
#include "profilegen/profilegen.h"
#include "profilegen/templates.h"

struct pe_info {
	asn1_node node;
	const char *alt;
};

static const char *pe_header_member(const char *alt)
{
	static const char *const fixed[][2] = {
		{ "genericFileManagement", "gfm-header" }, { "pinCodes", "pin-Header" },
		{ "pukCodes", "puk-Header" }, { "akaParameter", "aka-header" },
		{ "cdmaParameter", "cdma-header" }, { "securityDomain", "sd-Header" },
		{ "rfm", "rfm-header" }, { "application", "app-Header" },
		{ "nonStandard", "nonStandard-header" }, { "end", "end-header" } };
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (strcmp(fixed[i][0], alt) == 0)
			return fixed[i][1];
	for (size_t i = 0; i < dp_pg_n_tpls; i++)
		if (strcmp(dp_pg_tpls[i].alt, alt) == 0)
			return dp_pg_tpls[i].header;
	return NULL;
}

static bool is_template(const char *alt)
{
	for (size_t i = 0; i < dp_pg_n_tpls; i++)
		if (strcmp(dp_pg_tpls[i].alt, alt) == 0)
			return true;
	return false;
}

static int fail(const char **rule, const char *name)
{
	*rule = name;
	return DP_ERR_PG_CHECK;
}

/* First fillFileContent of File `member` of the PE. */
static int file_content(const struct pe_info *pe, const char *member, uint8_t *buf, size_t cap,
			size_t *len)
{
	char path[256], alt[64];
	size_t n;
	snprintf(path, sizeof(path), "%s.%s", pe->alt, member);
	if (!dp_asn1_present(pe->node, path) || dp_asn1_count(pe->node, path, &n) != DP_OK)
		return DP_ERR_NOT_FOUND;
	for (size_t i = 1; i <= n; i++) {
		snprintf(path, sizeof(path), "%s.%s.?%zu", pe->alt, member, i);
		if (dp_asn1_read_choice(pe->node, path, alt, sizeof(alt)) != DP_OK ||
		    strcmp(alt, "fillFileContent") != 0)
			continue;
		snprintf(path, sizeof(path), "%s.%s.?%zu.fillFileContent", pe->alt, member, i);
		return dp_asn1_read(pe->node, path, buf, cap, len);
	}
	return DP_ERR_NOT_FOUND;
}

static int check_aka(const struct pe_info *pe, bool have[4], size_t *keylen, const char **rule)
{
	char path[128];
	uint8_t buf[64];
	size_t klen, olen;
	uint64_t alg;
	char choice[32];
	snprintf(path, sizeof(path), "%s.algoConfiguration", pe->alt);
	if (dp_asn1_read_choice(pe->node, path, choice, sizeof(choice)) != DP_OK ||
	    strcmp(choice, "algoParameter") != 0)
		return DP_OK; /* mapping to another NAA's parameters */
	snprintf(path, sizeof(path), "%s.algoConfiguration.algoParameter.algorithmID", pe->alt);
	if (dp_asn1_read_uint(pe->node, path, &alg) != DP_OK || alg < 1 || alg > 3) {
		dp_err_set(DP_ERR_PG_CHECK, "akaParameter: unknown algorithmID");
		return fail(rule, "aka-algorithm");
	}
	snprintf(path, sizeof(path), "%s.algoConfiguration.algoParameter.key", pe->alt);
	int r = dp_asn1_read(pe->node, path, buf, sizeof(buf), &klen);
	snprintf(path, sizeof(path), "%s.algoConfiguration.algoParameter.opc", pe->alt);
	if (r == DP_OK)
		r = dp_asn1_read(pe->node, path, buf, sizeof(buf), &olen);
	if (r) {
		dp_err_set(DP_ERR_PG_CHECK, "akaParameter: key or opc unreadable");
		return fail(rule, "key-length");
	}
	bool ok = alg == 1   ? klen == 16 && olen == 16
		  : alg == 2 ? (klen == 16 || klen == 32) && olen == 32
			     : klen == 16;
	if (!ok) {
		dp_err_set(DP_ERR_PG_CHECK, "akaParameter: algorithm %llu with a %zu-byte key and a "
			   "%zu-byte OPc", (unsigned long long)alg, klen, olen);
		return fail(rule, "key-length");
	}
	have[alg] = true;
	if (alg == 2)
		*keylen = klen;
	return DP_OK;
}

int dp_pg_check(const struct dp_pg_package *p, const char **rule)
{
	struct pe_info *pes = NULL;
	int r = DP_OK;
	bool have_alg[4] = { false };
	size_t tuak_key = 0;
	*rule = NULL;
	r = dp_asn1_init();
	if (r)
		return r;
	if (p->n == 0) {
		dp_err_set(DP_ERR_PG_CHECK, "no profile elements");
		return fail(rule, "not-empty");
	}
	pes = calloc(p->n, sizeof(*pes));
	if (pes == NULL)
		return dp_err_set(DP_ERR_NOMEM, "check");
	for (size_t i = 0; i < p->n; i++) {
		r = dp_asn1_decode_pe(p->pes[i].der, p->pes[i].len, &pes[i].node, &pes[i].alt);
		if (r) {
			dp_err_wrap(r, "PE %zu", i + 1);
			r = fail(rule, "pe-decodes");
			goto out;
		}
	}
	/* structure */
	if (strcmp(pes[0].alt, "header") != 0) {
		dp_err_set(DP_ERR_PG_CHECK, "first PE is %s", pes[0].alt);
		r = fail(rule, "header-first");
		goto out;
	}
	if (strcmp(pes[p->n - 1].alt, "end") != 0) {
		dp_err_set(DP_ERR_PG_CHECK, "last PE is %s", pes[p->n - 1].alt);
		r = fail(rule, "end-last");
		goto out;
	}
	static const char *const once[] = { "header", "end", "mf", "cd", "telecom", "usim",
		"isim", "csim", "opt-usim", "opt-isim", "opt-csim", "df-saip", "df-5gs" };
	for (size_t k = 0; k < sizeof(once) / sizeof(once[0]); k++) {
		size_t c = 0;
		for (size_t i = 0; i < p->n; i++)
			c += strcmp(pes[i].alt, once[k]) == 0;
		if (c > 1) {
			dp_err_set(DP_ERR_PG_CHECK, "%zu %s PEs", c, once[k]);
			r = fail(rule, "unique-elements");
			goto out;
		}
	}
	{
		static const char *const needs[][2] = { { "opt-usim", "usim" }, { "gsm-access", "usim" },
			{ "phonebook", "usim" }, { "df-5gs", "usim" }, { "df-saip", "usim" },
			{ "opt-isim", "isim" }, { "opt-csim", "csim" } };
		for (size_t i = 0; i < p->n; i++)
			for (size_t k = 0; k < sizeof(needs) / sizeof(needs[0]); k++) {
				if (strcmp(pes[i].alt, needs[k][0]) != 0)
					continue;
				bool before = false;
				for (size_t j = 0; j < i; j++)
					before |= strcmp(pes[j].alt, needs[k][1]) == 0;
				if (!before) {
					dp_err_set(DP_ERR_PG_CHECK, "PE %zu %s without a preceding %s", i + 1,
						   needs[k][0], needs[k][1]);
					r = fail(rule, "naa-order");
					goto out;
				}
			}
	}
	/* identification numbers unique */
	for (size_t i = 1; i < p->n; i++) {
		char path[128];
		uint64_t id, id2;
		const char *h = pe_header_member(pes[i].alt);
		if (h == NULL)
			continue;
		snprintf(path, sizeof(path), "%s.%s.identification", pes[i].alt, h);
		if (dp_asn1_read_uint(pes[i].node, path, &id) != DP_OK)
			continue;
		for (size_t j = 1; j < i; j++) {
			const char *h2 = pe_header_member(pes[j].alt);
			if (h2 == NULL)
				continue;
			snprintf(path, sizeof(path), "%s.%s.identification", pes[j].alt, h2);
			if (dp_asn1_read_uint(pes[j].node, path, &id2) == DP_OK && id2 == id) {
				dp_err_set(DP_ERR_PG_CHECK, "PEs %zu and %zu both have identification %llu",
					   j + 1, i + 1, (unsigned long long)id);
				r = fail(rule, "identification-unique");
				goto out;
			}
		}
	}
	/* ICCID */
	uint8_t hdr_iccid[16], ef[16];
	size_t n;
	char digits[21], norm[21];
	if (dp_asn1_read(pes[0].node, "header.iccid", hdr_iccid, sizeof(hdr_iccid), &n) != DP_OK ||
	    n != 10 || dp_pg_iccid_from_header(hdr_iccid, digits) != DP_OK ||
	    strlen(digits) < 19 || dp_pg_iccid_normalise(digits, norm) != DP_OK ||
	    strcmp(norm, digits) != 0) {
		dp_err_set(DP_ERR_PG_CHECK, "header ICCID is not 19/20 BCD digits with a valid Luhn "
			   "digit and F padding");
		r = fail(rule, "iccid-well-formed");
		goto out;
	}
	bool have_mf = false;
	for (size_t i = 0; i < p->n; i++) {
		if (strcmp(pes[i].alt, "mf") != 0)
			continue;
		have_mf = true;
		uint8_t want[10];
		if (file_content(&pes[i], "ef-iccid", ef, sizeof(ef), &n) != DP_OK)
			continue; /* EF.ICCID left to the template default */
		if (dp_pg_iccid_ef(digits, want) != DP_OK || n != 10 || memcmp(want, ef, 10) != 0) {
			dp_err_set(DP_ERR_PG_CHECK, "EF.ICCID content does not encode header ICCID %s",
				   digits);
			r = fail(rule, "iccid-consistent");
			goto out;
		}
	}
	if (!have_mf) {
		dp_err_set(DP_ERR_PG_CHECK, "no mf PE creates the MF");
		r = fail(rule, "mf-present");
		goto out;
	}
	/* NAA content: IMSI, AKA parameters */
	for (size_t i = 0; i < p->n; i++) {
		if (strcmp(pes[i].alt, "usim") == 0 &&
		    file_content(&pes[i], "ef-imsi", ef, sizeof(ef), &n) == DP_OK) {
			char imsi[16];
			if (n != 9 || dp_pg_imsi_from_ef(ef, imsi) != DP_OK) {
				dp_err_set(DP_ERR_PG_CHECK, "EF.IMSI content is not a valid IMSI");
				r = fail(rule, "imsi-well-formed");
				goto out;
			}
		}
		if (strcmp(pes[i].alt, "akaParameter") == 0) {
			r = check_aka(&pes[i], have_alg, &tuak_key, rule);
			if (r)
				goto out;
		}
	}
	/* services of the header backed by content */
	{
		static const struct {
			const char *service;
			const char *pe;
			int alg;
		} need[] = { { "usim", "usim", 0 }, { "isim", "isim", 0 }, { "csim", "csim", 0 },
			     { "cave", "cdmaParameter", 0 }, { "milenage", NULL, 1 },
			     { "tuak128", NULL, 2 }, { "tuak256", NULL, 2 },
			     { "usim-test-algorithm", NULL, 3 } };
		for (size_t k = 0; k < sizeof(need) / sizeof(need[0]); k++) {
			char path[128];
			snprintf(path, sizeof(path), "header.eUICC-Mandatory-services.%s",
				 need[k].service);
			if (!dp_asn1_present(pes[0].node, path))
				continue;
			bool ok = false;
			if (need[k].pe)
				for (size_t i = 0; i < p->n; i++)
					ok |= strcmp(pes[i].alt, need[k].pe) == 0;
			else
				ok = have_alg[need[k].alg];
			if (ok && strcmp(need[k].service, "tuak256") == 0)
				ok = tuak_key == 32;
			if (!ok) {
				dp_err_set(DP_ERR_PG_CHECK, "header mandates service %s but the package has "
					   "no content for it", need[k].service);
				r = fail(rule, "services-present");
				goto out;
			}
		}
	}
	/* templates of the GFSTE list used by a template PE, and every template PE's template
	 * listed */
	{
		size_t ng = 0;
		char oid[128], tid[128], path[128];
		if (dp_asn1_count(pes[0].node, "header.eUICC-Mandatory-GFSTEList", &ng) != DP_OK)
			ng = 0;
		for (size_t g = 1; g <= ng; g++) {
			snprintf(path, sizeof(path), "header.eUICC-Mandatory-GFSTEList.?%zu", g);
			if (dp_asn1_read_str(pes[0].node, path, oid, sizeof(oid)) != DP_OK)
				continue;
			bool used = false;
			for (size_t i = 0; i < p->n && !used; i++) {
				if (!is_template(pes[i].alt))
					continue;
				snprintf(path, sizeof(path), "%s.templateID", pes[i].alt);
				used = dp_asn1_read_str(pes[i].node, path, tid, sizeof(tid)) == DP_OK &&
				       strcmp(tid, oid) == 0;
			}
			if (!used) {
				dp_err_set(DP_ERR_PG_CHECK, "template %s of the header is used by no PE",
					   oid);
				r = fail(rule, "templates-present");
				goto out;
			}
		}
	}
	r = DP_OK;
out:
	for (size_t i = 0; i < p->n; i++)
		dp_asn1_free(&pes[i].node);
	free(pes);
	return r;
}
