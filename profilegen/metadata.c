/* Profile metadata: the YAML `metadata:` mapping -> SGP.22 StoreMetadataRequest (BF25),
 * RSPDefinitions.StoreMetadataRequest in schemas/rsp_definitions.asn. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pki/asn1/asn1.h"
#include "pki/base/codec.h"
#include "profilegen/model.h"
#include "profilegen/pgio.h"
#include "profilegen/profilegen.h"

static const char *const meta_keys[] = { "serviceProviderName", "profileName", "profileClass",
	"icon", "notificationConfigurationInfo", "profileOwner", "profilePolicyRules",
	"ecallIndication", "fallbackAllowed", "hriServerAddress", "serviceProviderMessage",
	"serviceDescription", "estimatedProfileSize", "lprConfiguration", NULL };
static const char *const spm_keys[] = { "languageTag", "message", NULL };
static const char *const lpr_keys[] = { "pcmpAddress", "dpiEnable", "triggerLprOnEnableProfile",
	NULL };
static const char *const service_names[] = { "voice", "data" };
static const char *const notif_keys[] = { "events", "address", NULL };
static const char *const owner_keys[] = { "mccMnc", "gid1", "gid2", NULL };

static const char *const class_names[] = { "test", "provisioning", "operational" };
/* NotificationEvent bits 0..3 (short names; the schema names are accepted too) */
static const char *const event_names[] = { "install", "enable", "disable", "delete" };
static const char *const event_names_long[] = { "notificationInstall", "notificationEnable",
	"notificationDisable", "notificationDelete" };
static const char *const ppr_names[] = { "pprUpdateControl", "ppr1", "ppr2" };

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Scalar field `key` of map (required or not) copied into out (at most max bytes). */
static int text_field(struct dp_pg_ydoc *y, yaml_node_t *map, const char *key, bool required,
		      size_t max, char *out, yaml_node_t **node)
{
	const char *s;
	yaml_node_t *v = dp_pg_yget(y, map, key);
	if (node)
		*node = v;
	if (v == NULL)
		return required ? dp_pg_yerr(y, map, DP_ERR_PG_SCHEMA, "missing '%s'", key) : DP_OK;
	size_t mark = dp_pg_ypush(y, key);
	int r = dp_pg_yscalar(y, v, &s);
	if (r == DP_OK && strlen(s) > max)
		r = dp_pg_yerr(y, v, DP_ERR_PG_VALUE, "too long: %zu bytes, at most %zu", strlen(s),
			       max);
	if (r == DP_OK)
		snprintf(out, max + 1, "%s", s);
	dp_pg_ypop(y, mark);
	return r;
}

static int name_index(const char *s, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

static int read_icon(struct dp_pg_ydoc *y, yaml_node_t *v, const char *base_dir,
		     struct dp_pg_metadata *m)
{
	char path[4096];
	struct dp_buf b;
	dp_buf_init(&b, DP_PG_META_MAX_ICON + 1);
	size_t mark = dp_pg_ypush(y, "icon");
	int r = dp_pg_ypath(y, v, base_dir, path, sizeof(path));
	if (r)
		goto out;
	r = dp_pg_read_file(path, DP_PG_META_MAX_ICON + 1, &b);
	if (r == DP_ERR_TOO_LONG || (r == DP_OK && b.len > DP_PG_META_MAX_ICON)) {
		r = dp_pg_yerr(y, v, DP_ERR_PG_VALUE, "icon %s is larger than %u bytes", path,
			       DP_PG_META_MAX_ICON);
		goto out;
	}
	if (r) {
		r = dp_pg_yerr(y, v, r, "%s", dp_err_detail());
		goto out;
	}
	static const uint8_t png[8] = { 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A };
	static const uint8_t jpg[3] = { 0xFF, 0xD8, 0xFF };
	if (b.len >= sizeof(png) && memcmp(b.data, png, sizeof(png)) == 0) {
		m->icon_type = 1;
	} else if (b.len >= sizeof(jpg) && memcmp(b.data, jpg, sizeof(jpg)) == 0) {
		m->icon_type = 0;
	} else {
		r = dp_pg_yerr(y, v, DP_ERR_PG_VALUE, "icon %s is neither PNG nor JPEG", path);
		goto out;
	}
	memcpy(m->icon, b.data, b.len);
	m->icon_len = b.len;
out:
	dp_pg_ypop(y, mark);
	dp_buf_deinit(&b);
	return r;
}

/* A list of names -> bit mask (bit i = names[i]). */
static int bit_list(struct dp_pg_ydoc *y, yaml_node_t *v, const char *const *names,
		    const char *const *alias, size_t n, const char *what, uint8_t *bits)
{
	*bits = 0;
	if (v->type != YAML_SEQUENCE_NODE)
		return dp_pg_yerr(y, v, DP_ERR_PG_SCHEMA, "expected a list of %s names", what);
	size_t i = 0;
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++, i++) {
		yaml_node_t *e = dp_pg_ynode(y, *it);
		const char *s;
		size_t mark = dp_pg_ypush_index(y, i);
		int r = dp_pg_yscalar(y, e, &s);
		int k = r ? -1 : name_index(s, names, n);
		if (r == DP_OK && k < 0 && alias)
			k = name_index(s, alias, n);
		if (r == DP_OK && k < 0)
			r = dp_pg_yerr(y, e, DP_ERR_PG_VALUE, "unknown %s '%s'", what, s);
		if (r == DP_OK && (*bits & (1u << k)))
			r = dp_pg_yerr(y, e, DP_ERR_PG_DUPLICATE, "%s '%s' given twice", what, s);
		dp_pg_ypop(y, mark);
		if (r)
			return r;
		*bits = (uint8_t)(*bits | (1u << k));
	}
	return DP_OK;
}

static int read_notifs(struct dp_pg_ydoc *y, yaml_node_t *v, struct dp_pg_metadata *m)
{
	int r = DP_OK;
	size_t mark = dp_pg_ypush(y, "notificationConfigurationInfo");
	if (v->type != YAML_SEQUENCE_NODE) {
		r = dp_pg_yerr(y, v, DP_ERR_PG_SCHEMA,
			       "expected a list of {events: [...], address: host}");
		goto out;
	}
	m->has_notif = true;
	size_t i = 0;
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++, i++) {
		yaml_node_t *e = dp_pg_ynode(y, *it);
		size_t m2 = dp_pg_ypush_index(y, i);
		if (i >= DP_PG_META_MAX_NOTIF)
			r = dp_pg_yerr(y, e, DP_ERR_PG_VALUE, "at most %u entries",
				       DP_PG_META_MAX_NOTIF);
		r = r ? r : dp_pg_ymap_check(y, e, notif_keys);
		yaml_node_t *ev = r ? NULL : dp_pg_yget(y, e, "events");
		if (r == DP_OK && ev == NULL)
			r = dp_pg_yerr(y, e, DP_ERR_PG_SCHEMA, "missing 'events'");
		if (r == DP_OK) {
			size_t m3 = dp_pg_ypush(y, "events");
			r = bit_list(y, ev, event_names, event_names_long, N_OF(event_names), "event",
				     &m->notif[i].events);
			dp_pg_ypop(y, m3);
		}
		yaml_node_t *an = NULL;
		r = r ? r : text_field(y, e, "address", true, DP_PG_META_MAX_ADDR,
				       m->notif[i].address, &an);
		if (r == DP_OK && m->notif[i].address[0] == '\0') {
			size_t m3 = dp_pg_ypush(y, "address");
			r = dp_pg_yerr(y, an, DP_ERR_PG_VALUE, "empty address");
			dp_pg_ypop(y, m3);
		}
		dp_pg_ypop(y, m2);
		if (r)
			goto out;
		m->n_notif = i + 1;
	}
out:
	dp_pg_ypop(y, mark);
	return r;
}

static int read_owner(struct dp_pg_ydoc *y, yaml_node_t *v, struct dp_pg_metadata *m)
{
	char mm[8] = "";
	yaml_node_t *n = NULL;
	size_t mark = dp_pg_ypush(y, "profileOwner");
	int r = dp_pg_ymap_check(y, v, owner_keys);
	r = r ? r : text_field(y, v, "mccMnc", true, 6, mm, &n);
	if (r == DP_OK) {
		size_t l = strlen(mm);
		bool ok = l == 5 || l == 6;
		for (size_t i = 0; ok && i < l; i++)
			ok = mm[i] >= '0' && mm[i] <= '9';
		if (!ok) {
			size_t m2 = dp_pg_ypush(y, "mccMnc");
			r = dp_pg_yerr(y, n, DP_ERR_PG_VALUE,
				       "expected MCC and MNC: 5 or 6 digits, not '%s'", mm);
			dp_pg_ypop(y, m2);
		} else {
			/* TS 24.008 10.5.1.3: MCC2 MCC1 | MNC3 MCC3 | MNC2 MNC1 (MNC3 = F if 2 digits) */
			uint8_t d[6];
			for (size_t i = 0; i < l; i++)
				d[i] = (uint8_t)(mm[i] - '0');
			m->mcc_mnc[0] = (uint8_t)(d[1] << 4 | d[0]);
			m->mcc_mnc[1] = (uint8_t)((l == 6 ? d[5] : 0xF) << 4 | d[2]);
			m->mcc_mnc[2] = (uint8_t)(d[4] << 4 | d[3]);
			m->has_owner = true;
		}
	}
	yaml_node_t *g1 = NULL, *g2 = NULL;
	r = r ? r : dp_pg_yhex(y, v, "gid1", m->gid1, sizeof(m->gid1), &m->gid1_len, &g1);
	r = r ? r : dp_pg_yhex(y, v, "gid2", m->gid2, sizeof(m->gid2), &m->gid2_len, &g2);
	m->has_gid1 = r == DP_OK && g1 != NULL;
	m->has_gid2 = r == DP_OK && g2 != NULL;
	dp_pg_ypop(y, mark);
	return r;
}

/* A true/false field; *has set when present. */
static int bool_field(struct dp_pg_ydoc *y, yaml_node_t *map, const char *key, bool *has,
		      bool *out)
{
	const char *s;
	yaml_node_t *v = dp_pg_yget(y, map, key);
	*has = v != NULL;
	if (v == NULL)
		return DP_OK;
	size_t mark = dp_pg_ypush(y, key);
	int r = dp_pg_yscalar(y, v, &s);
	if (r == DP_OK && (strcmp(s, "true") == 0 || strcmp(s, "false") == 0))
		*out = s[0] == 't';
	else if (r == DP_OK)
		r = dp_pg_yerr(y, v, DP_ERR_PG_VALUE, "expected true or false, found '%s'", s);
	dp_pg_ypop(y, mark);
	return r;
}

/* The SGP.32 / SGP.22 v3 members (RSPDefinitions.StoreMetadataRequest). */
static int read_v3(struct dp_pg_ydoc *y, yaml_node_t *v, struct dp_pg_metadata *m)
{
	yaml_node_t *n;
	int r = bool_field(y, v, "ecallIndication", &m->has_ecall, &m->ecall);
	r = r ? r : bool_field(y, v, "fallbackAllowed", &m->has_fallback, &m->fallback);
	r = r ? r : text_field(y, v, "hriServerAddress", false, DP_PG_META_MAX_ADDR, m->hri, &n);
	m->has_hri = r == DP_OK && n != NULL;
	if (r == DP_OK && (n = dp_pg_yget(y, v, "serviceProviderMessage")) != NULL) {
		yaml_node_t *l = NULL;
		size_t mark = dp_pg_ypush(y, "serviceProviderMessage");
		r = dp_pg_ymap_check(y, n, spm_keys);
		r = r ? r : text_field(y, n, "message", true, DP_PG_META_MAX_TEXT, m->sp_message, NULL);
		r = r ? r : text_field(y, n, "languageTag", false, sizeof(m->sp_language) - 1,
				       m->sp_language, &l);
		m->has_sp_language = l != NULL;
		m->has_sp_message = r == DP_OK;
		dp_pg_ypop(y, mark);
	}
	if (r == DP_OK && (n = dp_pg_yget(y, v, "serviceDescription")) != NULL) {
		size_t mark = dp_pg_ypush(y, "serviceDescription");
		r = bit_list(y, n, service_names, NULL, N_OF(service_names), "service",
			     &m->service_description);
		m->has_service_description = r == DP_OK;
		dp_pg_ypop(y, mark);
	}
	if (r == DP_OK && (n = dp_pg_yget(y, v, "estimatedProfileSize")) != NULL) {
		const char *s;
		char *end;
		size_t mark = dp_pg_ypush(y, "estimatedProfileSize");
		r = dp_pg_yscalar(y, n, &s);
		unsigned long long x = r == DP_OK && s[0] >= '0' && s[0] <= '9' ? strtoull(s, &end, 10)
										   : 0;
		if (r == DP_OK && (s[0] < '0' || s[0] > '9' || *end || x > UINT32_MAX))
			r = dp_pg_yerr(y, n, DP_ERR_PG_VALUE,
				       "expected a size in bytes (0..4294967295), found '%s'", s);
		m->estimated_size = x;
		m->has_size = r == DP_OK;
		dp_pg_ypop(y, mark);
	}
	if (r == DP_OK && (n = dp_pg_yget(y, v, "lprConfiguration")) != NULL) {
		yaml_node_t *d = NULL;
		bool has_trigger = false;
		size_t mark = dp_pg_ypush(y, "lprConfiguration");
		r = dp_pg_ymap_check(y, n, lpr_keys);
		r = r ? r : text_field(y, n, "pcmpAddress", true, DP_PG_META_MAX_ADDR, m->lpr_pcmp, NULL);
		r = r ? r : text_field(y, n, "dpiEnable", false, DP_PG_META_MAX_ADDR, m->lpr_dpi, &d);
		m->has_lpr_dpi = d != NULL;
		r = r ? r : bool_field(y, n, "triggerLprOnEnableProfile", &has_trigger, &m->lpr_trigger);
		m->has_lpr = r == DP_OK;
		dp_pg_ypop(y, mark);
	}
	return r;
}

int dp_pg_metadata_parse(struct dp_pg_ydoc *y, yaml_node_t *v, const char *base_dir,
			 struct dp_pg_metadata *m)
{
	yaml_node_t *n;
	char cls[32] = "";
	memset(m, 0, sizeof(*m));
	m->profile_class = -1;
	m->icon_type = -1;
	size_t mark = dp_pg_ypush(y, "metadata");
	int r = dp_pg_ymap_check(y, v, meta_keys);
	r = r ? r : text_field(y, v, "serviceProviderName", true, 32, m->spn, NULL);
	r = r ? r : text_field(y, v, "profileName", true, 64, m->name, NULL);
	r = r ? r : text_field(y, v, "profileClass", false, sizeof(cls) - 1, cls, &n);
	if (r == DP_OK && n) {
		m->profile_class = name_index(cls, class_names, N_OF(class_names));
		if (m->profile_class < 0) {
			size_t m2 = dp_pg_ypush(y, "profileClass");
			r = dp_pg_yerr(y, n, DP_ERR_PG_VALUE,
				       "unknown class '%s' (test, provisioning or operational)", cls);
			dp_pg_ypop(y, m2);
		}
	}
	if (r == DP_OK && (n = dp_pg_yget(y, v, "icon")) != NULL)
		r = read_icon(y, n, base_dir, m);
	if (r == DP_OK && (n = dp_pg_yget(y, v, "notificationConfigurationInfo")) != NULL)
		r = read_notifs(y, n, m);
	if (r == DP_OK && (n = dp_pg_yget(y, v, "profileOwner")) != NULL)
		r = read_owner(y, n, m);
	if (r == DP_OK && (n = dp_pg_yget(y, v, "profilePolicyRules")) != NULL) {
		size_t m2 = dp_pg_ypush(y, "profilePolicyRules");
		r = bit_list(y, n, ppr_names, NULL, N_OF(ppr_names), "profile policy rule", &m->ppr);
		m->has_ppr = r == DP_OK;
		dp_pg_ypop(y, m2);
	}
	r = r ? r : read_v3(y, v, m);
	m->present = r == DP_OK;
	dp_pg_ypop(y, mark);
	return r;
}

/* Named BIT STRING in DER: trailing zero bits dropped (X.690 11.2.2). */
static int write_named_bits(asn1_node node, const char *field, uint8_t mask)
{
	uint8_t byte = 0;
	size_t nbits = 0;
	for (size_t i = 0; i < 8; i++)
		if (mask & (1u << i)) {
			byte = (uint8_t)(byte | (0x80u >> i));
			nbits = i + 1;
		}
	return dp_asn1_write_bits(node, field, &byte, nbits);
}

/* The SGP.32 / SGP.22 v3 members: written when given, omitted otherwise. */
static int write_v3(asn1_node n, const struct dp_pg_metadata *m)
{
	int r = m->has_ecall ? dp_asn1_write_bool(n, "ecallIndication", m->ecall)
			     : dp_asn1_omit(n, "ecallIndication");
	r = r ? r : m->has_fallback ? dp_asn1_write_bool(n, "fallbackAllowed", m->fallback)
				    : dp_asn1_omit(n, "fallbackAllowed");
	r = r ? r : m->has_hri ? dp_asn1_write(n, "hriServerAddress", m->hri, strlen(m->hri))
			       : dp_asn1_omit(n, "hriServerAddress");
	if (m->has_sp_message) {
		r = r ? r : dp_asn1_write(n, "serviceProviderMessage.message", m->sp_message,
					  strlen(m->sp_message));
		r = r ? r : m->has_sp_language
				    ? dp_asn1_write(n, "serviceProviderMessage.languageTag",
						    m->sp_language, strlen(m->sp_language))
				    : dp_asn1_omit(n, "serviceProviderMessage.languageTag");
	} else {
		r = r ? r : dp_asn1_omit(n, "serviceProviderMessage");
	}
	r = r ? r : m->has_service_description
			    ? write_named_bits(n, "serviceDescription", m->service_description)
			    : dp_asn1_omit(n, "serviceDescription");
	r = r ? r : m->has_size ? dp_asn1_write_uint(n, "estimatedProfileSize", m->estimated_size)
				: dp_asn1_omit(n, "estimatedProfileSize");
	if (m->has_lpr) {
		r = r ? r : dp_asn1_write(n, "lprConfiguration.pcmpAddress", m->lpr_pcmp,
					  strlen(m->lpr_pcmp));
		r = r ? r : m->has_lpr_dpi ? dp_asn1_write(n, "lprConfiguration.dpiEnable", m->lpr_dpi,
							   strlen(m->lpr_dpi))
					   : dp_asn1_omit(n, "lprConfiguration.dpiEnable");
		/* a NULL flag: present when left as created, omitted when false */
		if (!m->lpr_trigger)
			r = r ? r : dp_asn1_omit(n, "lprConfiguration.triggerLprOnEnableProfile");
	} else {
		r = r ? r : dp_asn1_omit(n, "lprConfiguration");
	}
	return r;
}

static int header_iccid_ef(const struct dp_pg_package *p, uint8_t ef[10])
{
	for (size_t i = 0; i < p->n; i++) {
		asn1_node n = NULL;
		const char *alt;
		uint8_t h[10];
		size_t hl = 0;
		char digits[21];
		if (dp_asn1_decode_pe(p->pes[i].der, p->pes[i].len, &n, &alt) != DP_OK) {
			dp_asn1_free(&n);
			continue;
		}
		bool hdr = strcmp(alt, "header") == 0;
		int r = hdr ? dp_asn1_read(n, "header.iccid", h, sizeof(h), &hl) : DP_OK;
		dp_asn1_free(&n);
		if (!hdr)
			continue;
		if (r || hl != 10 || dp_pg_iccid_from_header(h, digits) != DP_OK ||
		    dp_pg_iccid_ef(digits, ef) != DP_OK)
			return dp_err_set(DP_ERR_PG_PACKAGE, "header ICCID is not BCD digits");
		return DP_OK;
	}
	return dp_err_set(DP_ERR_PG_PACKAGE, "package has no header (the metadata needs its ICCID)");
}

int dp_pg_metadata_der(const struct dp_pg_package *p, const struct dp_pg_metadata *m,
		       struct dp_buf *out)
{
	static const char *const always_absent[] = { "serviceSpecificDataStoredInEuicc",
		"serviceSpecificDataNotStoredInEuicc", "iotSpecificMetadata", "rpmConfiguration",
		"enterpriseConfiguration", "deviceChangeConfiguration" };
	uint8_t iccid[10];
	asn1_node n = NULL;
	if (m == NULL || !m->present)
		return dp_err_set(DP_ERR_NOT_FOUND, "the profile has no metadata");
	int r = dp_asn1_init();
	r = r ? r : header_iccid_ef(p, iccid);
	r = r ? r : dp_asn1_create("RSPDefinitions.StoreMetadataRequest", &n);
	r = r ? r : dp_asn1_write(n, "iccid", iccid, sizeof(iccid));
	r = r ? r : dp_asn1_write(n, "serviceProviderName", m->spn, strlen(m->spn));
	r = r ? r : dp_asn1_write(n, "profileName", m->name, strlen(m->name));
	if (m->icon_type >= 0) {
		r = r ? r : dp_asn1_write_uint(n, "iconType", (uint64_t)m->icon_type);
		r = r ? r : dp_asn1_write(n, "icon", m->icon, m->icon_len);
	} else {
		r = r ? r : dp_asn1_omit(n, "iconType");
		r = r ? r : dp_asn1_omit(n, "icon");
	}
	/* DEFAULT operational: DER leaves the default value out (an unwritten DEFAULT field is
	 * not encoded) */
	if (m->profile_class >= 0 && m->profile_class != 2)
		r = r ? r : dp_asn1_write_uint(n, "profileClass", (uint64_t)m->profile_class);
	if (m->has_notif) {
		for (size_t i = 0; r == DP_OK && i < m->n_notif; i++) {
			r = dp_asn1_append(n, "notificationConfigurationInfo");
			r = r ? r : write_named_bits(n, "notificationConfigurationInfo.?LAST."
						     "profileManagementOperation", m->notif[i].events);
			r = r ? r : dp_asn1_write(n, "notificationConfigurationInfo.?LAST."
						  "notificationAddress", m->notif[i].address,
						  strlen(m->notif[i].address));
		}
	} else {
		r = r ? r : dp_asn1_omit(n, "notificationConfigurationInfo");
	}
	if (m->has_owner) {
		r = r ? r : dp_asn1_write(n, "profileOwner.mccMnc", m->mcc_mnc, 3);
		if (m->has_gid1)
			r = r ? r : dp_asn1_write(n, "profileOwner.gid1", m->gid1, m->gid1_len);
		else
			r = r ? r : dp_asn1_omit(n, "profileOwner.gid1");
		if (m->has_gid2)
			r = r ? r : dp_asn1_write(n, "profileOwner.gid2", m->gid2, m->gid2_len);
		else
			r = r ? r : dp_asn1_omit(n, "profileOwner.gid2");
	} else {
		r = r ? r : dp_asn1_omit(n, "profileOwner");
	}
	if (m->has_ppr)
		r = r ? r : write_named_bits(n, "profilePolicyRules", m->ppr);
	else
		r = r ? r : dp_asn1_omit(n, "profilePolicyRules");
	r = r ? r : write_v3(n, m);
	for (size_t i = 0; r == DP_OK && i < N_OF(always_absent); i++)
		r = dp_asn1_omit(n, always_absent[i]);
	r = r ? r : dp_asn1_encode(n, "", out);
	dp_asn1_free(&n);
	return r;
}
