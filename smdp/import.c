/* Profile import: DER or profilegen YAML into the order book (contract in import.h;
 * SGP.22 5.7.2 StoreMetadataRequest, 2.5.3 profile protection keys). */
#include "smdp/import.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "pki/asn1/asn1.h"
#include "pki/base/secure.h"
#include "profilegen/profilegen.h"
#include "smdp/bpp.h"

#define SP_NAME_DEFAULT "smdp"

void dp_import_item_init(struct dp_import_item *it)
{
	memset(it, 0, sizeof(*it));
	dp_buf_init_secret(&it->package, DP_PG_MAX_PACKAGE + DP_PG_MAX_PACKAGE / 8);
	dp_buf_init(&it->metadata, 64 * 1024);
}

void dp_import_item_deinit(struct dp_import_item *it)
{
	dp_buf_deinit(&it->package);
	dp_buf_deinit(&it->metadata);
	dp_kdf_keys_wipe(&it->ppk);
}

int dp_import_class_parse(const char *s, int *out)
{
	static const char *const names[] = {"test", "provisioning", "operational"};
	for (int i = 0; i < 3; i++) {
		if (strcasecmp(s, names[i]) == 0) {
			*out = i;
			return DP_OK;
		}
	}
	return dp_err_set(DP_ERR_INVAL,
			  "profile class '%s': expected test, provisioning or "
			  "operational",
			  s);
}

/* The ICCID of the package header (ProfileHeader.iccid, BCD in digit order), with its
 * Luhn digit checked: the order book keys profiles by it. */
static int header_iccid(const struct dp_pg_package *p, char iccid[DP_DB_ICCID_MAX + 1])
{
	for (size_t i = 0; i < p->n; i++) {
		asn1_node n = NULL;
		const char *alt;
		uint8_t h[10];
		size_t hl = 0;
		if (dp_asn1_decode_pe(p->pes[i].der, p->pes[i].len, &n, &alt) != DP_OK) {
			dp_asn1_free(&n);
			continue;
		}
		bool is_header = strcmp(alt, "header") == 0;
		int r = is_header ? dp_asn1_read(n, "header.iccid", h, sizeof(h), &hl) : DP_OK;
		dp_asn1_free(&n);
		if (!is_header)
			continue;
		if (r || hl != 10 || dp_pg_iccid_from_header(h, iccid) != DP_OK)
			return dp_err_set(DP_ERR_PG_PACKAGE, "header ICCID is not BCD digits");
		size_t len = strlen(iccid);
		if (len < 19 || len > 20)
			return dp_err_set(DP_ERR_PG_PACKAGE,
					  "header ICCID %s has %zu digits, not "
					  "19 or 20",
					  iccid, len);
		if (dp_pg_luhn_digit(iccid, len - 1) != iccid[len - 1])
			return dp_err_set(DP_ERR_PG_LUHN,
					  "header ICCID %s: Luhn digit is %c, "
					  "expected %c",
					  iccid, iccid[len - 1], dp_pg_luhn_digit(iccid, len - 1));
		return DP_OK;
	}
	return dp_err_set(DP_ERR_PG_PACKAGE, "package has no ProfileHeader");
}

/* Options over the metadata: serviceProviderName, profileName, profileClass. */
static int apply_options(const struct dp_import_options *o, const char *iccid,
			 struct dp_pg_metadata *m)
{
	if (!m->present) {
		/* a DER package or a YAML without metadata: the defaults of import.h */
		memset(m, 0, sizeof(*m));
		m->present = true;
		m->icon_type = -1;
		m->profile_class = 2;
		snprintf(m->spn, sizeof(m->spn), "%s", SP_NAME_DEFAULT);
		snprintf(m->name, sizeof(m->name), "%s", iccid);
	}
	if (o->sp_name != NULL) {
		if (strlen(o->sp_name) >= sizeof(m->spn))
			return dp_err_set(DP_ERR_INVAL,
					  "service provider name is longer than %zu "
					  "bytes",
					  sizeof(m->spn) - 1);
		snprintf(m->spn, sizeof(m->spn), "%s", o->sp_name);
	}
	if (o->name != NULL) {
		if (strlen(o->name) >= sizeof(m->name))
			return dp_err_set(DP_ERR_INVAL, "profile name is longer than %zu bytes",
					  sizeof(m->name) - 1);
		snprintf(m->name, sizeof(m->name), "%s", o->name);
	}
	if (o->profile_class >= 0) {
		if (o->profile_class > 2)
			return dp_err_set(DP_ERR_INVAL, "profile class %d", o->profile_class);
		m->profile_class = o->profile_class;
	}
	return DP_OK;
}

int dp_import_prepare(const char *name, const uint8_t *data, size_t len, bool yaml,
		      const char *base_dir, const struct dp_import_options *o,
		      struct dp_import_item *it)
{
	struct dp_pg_package pkg;
	struct dp_pg_metadata *meta = calloc(1, sizeof(*meta));
	struct dp_buf upp;
	const char *rule = NULL;
	dp_pg_package_init(&pkg);
	dp_buf_init_secret(&upp, DP_PG_MAX_PACKAGE);
	int r = meta != NULL ? dp_asn1_init() : dp_err_set(DP_ERR_NOMEM, "metadata");
	if (r)
		goto out;
	if (yaml) {
		r = dp_pg_build_yaml_meta(name, (const char *)data, len, base_dir, &pkg, meta);
	} else {
		r = len == 0 ? dp_err_set(DP_ERR_EMPTY, "empty file")
			     : dp_pg_package_parse(data, len, &pkg);
	}
	if (r)
		goto out;
	r = dp_pg_check(&pkg, &rule);
	if (r) {
		r = dp_err_wrap(r, "rule %s", rule != NULL ? rule : "?");
		goto out;
	}
	r = header_iccid(&pkg, it->iccid);
	if (r)
		goto out;
	r = apply_options(o, it->iccid, meta);
	if (r)
		goto out;
	dp_buf_reset(&it->metadata);
	r = dp_pg_metadata_der(&pkg, meta, &it->metadata);
	if (r)
		goto out;
	it->profile_class = meta->profile_class >= 0 ? meta->profile_class : 2;
	it->ppr = meta->has_ppr ? meta->ppr : 0;
	r = dp_pg_package_der(&pkg, &upp);
	if (r)
		goto out;
	dp_buf_reset(&it->package);
	if (o->ppk) {
		/* pre-protection: the 86 TLVs under fresh PPKs are what gets stored */
		r = dp_bpp_protect(upp.data, upp.len, &it->ppk, &it->package);
		it->has_ppk = r == DP_OK;
	} else {
		r = dp_buf_append(&it->package, upp.data, upp.len);
	}
out:
	dp_pg_package_deinit(&pkg);
	dp_buf_deinit(&upp);
	free(meta);
	return r;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n > k && strcasecmp(s + n - k, suffix) == 0;
}

static bool is_yaml_name(const char *path)
{
	return has_suffix(path, ".yaml") || has_suffix(path, ".yml");
}

int dp_import_file(struct dp_db *db, const char *path, const struct dp_import_options *o,
		   char *iccid_out)
{
	struct dp_import_item it;
	struct dp_buf data;
	char dir[PATH_MAX];
	bool yaml = is_yaml_name(path);
	dp_import_item_init(&it);
	dp_buf_init_secret(&data, yaml ? DP_PG_MAX_YAML : DP_PG_MAX_PACKAGE);
	if (iccid_out != NULL)
		iccid_out[0] = '\0';
	/* the folder of the file resolves a YAML's relative `base:` */
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash != NULL)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	int r = dp_buf_read_file(&data, path);
	/* a name without .der/.yaml: text is YAML (a ProfileElement starts with a tag >= A0) */
	if (r == DP_OK && !yaml && !has_suffix(path, ".der") && data.len > 0 &&
	    data.data[0] >= 0x09 && data.data[0] < 0x7F)
		yaml = true;
	if (r == DP_OK)
		r = dp_import_prepare(path, data.data, data.len, yaml, dir, o, &it);
	if (r == DP_OK) {
		struct dp_db_profile_new p = {
		    .iccid = it.iccid,
		    .profile_type = o->profile_type != NULL ? o->profile_type : "",
		    .owner = o->owner != NULL ? o->owner : "",
		    .package = it.package.data,
		    .package_len = it.package.len,
		    .ppk = it.has_ppk ? &it.ppk : NULL,
		    .metadata = it.metadata.data,
		    .metadata_len = it.metadata.len,
		    .profile_class = it.profile_class,
		    .ppr = it.ppr,
		};
		int64_t id;
		r = dp_db_profile_add(db, &p, o->actor != NULL ? o->actor : "admin", &id);
	}
	if (iccid_out != NULL)
		snprintf(iccid_out, DP_DB_ICCID_MAX + 1, "%s", it.iccid);
	/* every message names the file once (the YAML reader's and the file reader's do) */
	if (r && strstr(dp_err_detail(), path) == NULL)
		r = dp_err_wrap(r, "%s", path);
	dp_import_item_deinit(&it);
	dp_buf_deinit(&data);
	return r;
}

static int import_one(struct dp_db *db, const char *path, const struct dp_import_options *o,
		      dp_import_report_cb cb, void *ctx, size_t *ok, size_t *failed)
{
	char iccid[DP_DB_ICCID_MAX + 1] = "";
	int r = dp_import_file(db, path, o, iccid);
	if (r)
		(*failed)++;
	else
		(*ok)++;
	if (cb != NULL)
		cb(ctx, path, r, iccid);
	return r;
}

static int wanted(const struct dirent *e)
{
	return e->d_name[0] != '.' && (has_suffix(e->d_name, ".der") || is_yaml_name(e->d_name));
}

static int import_dir(struct dp_db *db, const char *dir, const struct dp_import_options *o,
		      dp_import_report_cb cb, void *ctx, size_t *ok, size_t *failed)
{
	struct dirent **list = NULL;
	int n = scandir(dir, &list, wanted, alphasort);
	int first = DP_OK, files = 0;
	if (n < 0) {
		int r =
		    dp_err_set(DP_ERR_IO, "%s: cannot read the folder: %s", dir, strerror(errno));
		(*failed)++;
		if (cb != NULL)
			cb(ctx, dir, r, "");
		return r;
	}
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			files++;
			int r = import_one(db, path, o, cb, ctx, ok, failed);
			if (first == DP_OK)
				first = r;
		}
		free(list[i]);
	}
	free(list);
	if (files == 0) {
		first =
		    dp_err_set(DP_ERR_NOT_FOUND, "%s: no *.der or *.yaml file in the folder", dir);
		(*failed)++;
		if (cb != NULL)
			cb(ctx, dir, first, "");
	}
	return first;
}

int dp_import_paths(struct dp_db *db, char *const *paths, size_t n,
		    const struct dp_import_options *o, dp_import_report_cb cb, void *ctx,
		    size_t *ok, size_t *failed)
{
	int first = DP_OK;
	*ok = 0;
	*failed = 0;
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		int r;
		if (stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode))
			r = import_dir(db, paths[i], o, cb, ctx, ok, failed);
		else
			r = import_one(db, paths[i], o, cb, ctx, ok, failed);
		if (first == DP_OK)
			first = r;
	}
	return first;
}
