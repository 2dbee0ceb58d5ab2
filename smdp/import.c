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
#include "pki/base/codec.h"
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

/* Stores a prepared profile as Available with the options' type and owner. */
static int store_item(struct dp_db *db, const struct dp_import_item *it,
		      const struct dp_import_options *o)
{
	struct dp_db_profile_new p = {
	    .iccid = it->iccid,
	    .profile_type = o->profile_type != NULL ? o->profile_type : "",
	    .owner = o->owner != NULL ? o->owner : "",
	    .package = it->package.data,
	    .package_len = it->package.len,
	    .ppk = it->has_ppk ? &it->ppk : NULL,
	    .metadata = it->metadata.data,
	    .metadata_len = it->metadata.len,
	    .profile_class = it->profile_class,
	    .ppr = it->ppr,
	};
	int64_t id;
	return dp_db_profile_add(db, &p, o->actor != NULL ? o->actor : "admin", &id);
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
	if (r == DP_OK)
		r = store_item(db, &it, o);
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

/* ---- the operator CSV of a profilegen batch ---- */

enum csv_col {
	COL_ICCID,
	COL_IMSI,
	COL_KI,
	COL_OPC,
	COL_PIN1,
	COL_PUK1,
	COL_PIN2,
	COL_PUK2,
	COL_ADM1,
	COL_COUNT
};
static const char *const csv_cols[COL_COUNT] = {"ICCID", "IMSI", "Ki",	 "OPc", "PIN1",
						"PUK1",	 "PIN2", "PUK2", "ADM1"};

/* A field of a line: a window into the text, spaces and tabs around it dropped. */
struct field {
	const char *p;
	size_t n;
};

void dp_import_csv_init(struct dp_import_csv *c)
{
	memset(c, 0, sizeof(*c));
}

void dp_import_csv_deinit(struct dp_import_csv *c)
{
	if (c->rows != NULL)
		dp_free_secret(c->rows, c->cap * sizeof(*c->rows));
	memset(c, 0, sizeof(*c));
}

static bool digits_only(const struct field *f)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->p[i] < '0' || f->p[i] > '9')
			return false;
	return true;
}

/* Splits a line at commas into at most max fields; *n receives the count, which is max + 1
 * when the line has more. */
static void split_line(const char *p, size_t len, struct field *out, size_t max, size_t *n)
{
	size_t k = 0, start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && p[i] != ',')
			continue;
		if (k < max) {
			size_t a = start, b = i;
			while (a < b && (p[a] == ' ' || p[a] == '\t'))
				a++;
			while (b > a && (p[b - 1] == ' ' || p[b - 1] == '\t'))
				b--;
			out[k].p = p + a;
			out[k].n = b - a;
		}
		k++;
		start = i + 1;
	}
	*n = k > max ? max + 1 : k;
}

/* Letters, digits, '_' and '-' only: safe to echo in a message. */
static bool tame(const struct field *f)
{
	for (size_t i = 0; i < f->n; i++) {
		char ch = f->p[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

static int csv_header(const char *name, const struct field *f, size_t nf, int map[COL_COUNT])
{
	bool seen[COL_COUNT] = {false};
	if (nf > COL_COUNT)
		return dp_err_set(DP_ERR_BATCH_CSV, "%s:1: more than %d columns", name, COL_COUNT);
	for (size_t i = 0; i < nf; i++) {
		int col = -1;
		for (int k = 0; k < COL_COUNT; k++)
			if (f[i].n == strlen(csv_cols[k]) &&
			    strncasecmp(f[i].p, csv_cols[k], f[i].n) == 0)
				col = k;
		/* a header name is no secret, but it may be any byte: shown only when tame */
		if (col < 0 && f[i].n <= 16 && tame(&f[i]))
			return dp_err_set(DP_ERR_BATCH_CSV,
					  "%s:1: unknown column '%.*s' (expected "
					  "ICCID,IMSI,Ki,OPc,PIN1,PUK1,PIN2,PUK2,ADM1)",
					  name, (int)f[i].n, f[i].p);
		if (col < 0)
			return dp_err_set(DP_ERR_BATCH_CSV,
					  "%s:1: column %zu is not a known column name", name,
					  i + 1);
		if (seen[col])
			return dp_err_set(DP_ERR_BATCH_CSV, "%s:1: column %s appears twice", name,
					  csv_cols[col]);
		seen[col] = true;
		map[i] = col;
	}
	if (!seen[COL_ICCID] || !seen[COL_IMSI])
		return dp_err_set(DP_ERR_BATCH_CSV, "%s:1: the header has no %s column", name,
				  seen[COL_ICCID] ? "IMSI" : "ICCID");
	return DP_OK;
}

/* Hex of 16 or 32 bytes into out; never names the value. */
static int csv_key(const char *name, size_t line, const char *what, const struct field *f,
		   uint8_t out[32], size_t *len)
{
	int r = DP_OK;
	if ((f->n != 32 && f->n != 64) || dp_hex_decode(f->p, f->n, out, 32, len) != DP_OK)
		r = dp_err_set(DP_ERR_BATCH_CSV, "%s:%zu: %s must be 32 or 64 hex digits", name,
			       line, what);
	return r;
}

/* One field of a row into row r (secrets only as far as the comparison needs them). */
static int csv_field(const char *name, size_t line, int col, const struct field *f,
		     struct dp_import_csv_row *row)
{
	if (f->n == 0)
		return dp_err_set(DP_ERR_BATCH_CSV, "%s:%zu: empty %s", name, line, csv_cols[col]);
	switch (col) {
	case COL_ICCID:
		if (f->n < 19 || f->n > 20 || !digits_only(f))
			return dp_err_set(DP_ERR_BATCH_CSV, "%s:%zu: ICCID must be 19 or 20 digits",
					  name, line);
		memcpy(row->iccid, f->p, f->n);
		row->iccid[f->n] = '\0';
		if (dp_pg_luhn_digit(row->iccid, f->n - 1) != row->iccid[f->n - 1])
			return dp_err_set(DP_ERR_BATCH_CSV,
					  "%s:%zu: ICCID %s: the Luhn digit should be %c", name,
					  line, row->iccid, dp_pg_luhn_digit(row->iccid, f->n - 1));
		return DP_OK;
	case COL_IMSI:
		if (f->n < 6 || f->n > 15 || !digits_only(f))
			return dp_err_set(DP_ERR_BATCH_CSV, "%s:%zu: IMSI must be 6 to 15 digits",
					  name, line);
		memcpy(row->imsi, f->p, f->n);
		row->imsi[f->n] = '\0';
		return DP_OK;
	case COL_KI: return csv_key(name, line, "Ki", f, row->ki, &row->ki_len);
	case COL_OPC: return csv_key(name, line, "OPc", f, row->opc, &row->opc_len);
	default:
		/* PIN1, PUK1, PIN2, PUK2, ADM1: as the package codes them (dp_pg_pin_encode) */
		if (f->n < 4 || f->n > 8 || !digits_only(f))
			return dp_err_set(DP_ERR_BATCH_CSV, "%s:%zu: %s must be 4 to 8 digits",
					  name, line, csv_cols[col]);
		return DP_OK;
	}
}

static int csv_push(struct dp_import_csv *c, const struct dp_import_csv_row *row)
{
	if (c->n == c->cap) {
		/* grown by copy and wipe: realloc would leave the old keys behind */
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct dp_import_csv_row *v = calloc(cap, sizeof(*v));
		if (v == NULL)
			return dp_err_set(DP_ERR_NOMEM, "operator file rows");
		if (c->n > 0)
			memcpy(v, c->rows, c->n * sizeof(*v));
		dp_free_secret(c->rows, c->cap * sizeof(*c->rows));
		c->rows = v;
		c->cap = cap;
	}
	c->rows[c->n++] = *row;
	return DP_OK;
}

static int cmp_iccid(const void *a, const void *b)
{
	const struct dp_import_csv_row *x = *(const struct dp_import_csv_row *const *)a;
	const struct dp_import_csv_row *y = *(const struct dp_import_csv_row *const *)b;
	int c = strcmp(x->iccid, y->iccid);
	return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

static int cmp_imsi(const void *a, const void *b)
{
	const struct dp_import_csv_row *x = *(const struct dp_import_csv_row *const *)a;
	const struct dp_import_csv_row *y = *(const struct dp_import_csv_row *const *)b;
	int c = strcmp(x->imsi, y->imsi);
	return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

/* Pointers to the rows sorted by ICCID (ties by line); free() the array. */
static int rows_by(const struct dp_import_csv *c, int (*cmp)(const void *, const void *),
		   const struct dp_import_csv_row ***out)
{
	const struct dp_import_csv_row **v = calloc(c->n ? c->n : 1, sizeof(*v));
	if (v == NULL)
		return dp_err_set(DP_ERR_NOMEM, "operator file index");
	for (size_t i = 0; i < c->n; i++)
		v[i] = &c->rows[i];
	qsort(v, c->n, sizeof(*v), cmp);
	*out = v;
	return DP_OK;
}

/* Two rows with one ICCID or one IMSI: the later line is named with the earlier. */
static int csv_unique(const char *name, const struct dp_import_csv *c)
{
	const struct dp_import_csv_row **v = NULL;
	int r = rows_by(c, cmp_iccid, &v);
	for (size_t i = 1; r == DP_OK && i < c->n; i++)
		if (strcmp(v[i]->iccid, v[i - 1]->iccid) == 0)
			r = dp_err_set(DP_ERR_BATCH_CSV,
				       "%s:%zu: ICCID %s again (first on line %zu)", name,
				       v[i]->line, v[i]->iccid, v[i - 1]->line);
	free(v);
	v = NULL;
	if (r == DP_OK)
		r = rows_by(c, cmp_imsi, &v);
	for (size_t i = 1; r == DP_OK && i < c->n; i++)
		if (strcmp(v[i]->imsi, v[i - 1]->imsi) == 0)
			r = dp_err_set(DP_ERR_BATCH_CSV,
				       "%s:%zu: IMSI %s again (first on line %zu)", name,
				       v[i]->line, v[i]->imsi, v[i - 1]->line);
	free(v);
	return r;
}

int dp_import_csv_parse(const char *name, const char *text, size_t len, struct dp_import_csv *out)
{
	struct field f[COL_COUNT + 1];
	struct dp_import_csv_row row;
	int map[COL_COUNT];
	size_t pos = 0, line = 0, nf = 0;
	bool header = false;
	int r = DP_OK;
	memset(&row, 0, sizeof(row));
	dp_import_csv_deinit(out);
	if (len > DP_IMPORT_CSV_MAX) {
		r = dp_err_set(DP_ERR_BATCH_CSV, "%s: larger than %u bytes", name,
			       DP_IMPORT_CSV_MAX);
		goto out;
	}
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		pos = 3; /* a UTF-8 byte order mark, as spreadsheets write it */
	while (pos < len) {
		const char *p = text + pos;
		const char *nl = memchr(p, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - p) : len - pos;
		pos += n + (nl != NULL);
		line++;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n > DP_IMPORT_CSV_LINE_MAX) {
			r = dp_err_set(DP_ERR_BATCH_CSV, "%s:%zu: longer than %d bytes", name, line,
				       DP_IMPORT_CSV_LINE_MAX);
			goto out;
		}
		if (memchr(p, '\0', n) != NULL || memchr(p, '"', n) != NULL) {
			r = dp_err_set(DP_ERR_BATCH_CSV,
				       "%s:%zu: a NUL byte or a quote (quoted fields are not "
				       "supported)",
				       name, line);
			goto out;
		}
		size_t k;
		split_line(p, n, f, COL_COUNT, &k);
		if (k == 1 && f[0].n == 0) {
			if (!header) {
				r = dp_err_set(DP_ERR_BATCH_CSV, "%s:%zu: no header line", name,
					       line);
				goto out;
			}
			continue; /* a blank line */
		}
		if (!header) {
			r = csv_header(name, f, k, map);
			if (r)
				goto out;
			nf = k;
			header = true;
			continue;
		}
		if (k != nf) {
			r = dp_err_set(DP_ERR_BATCH_CSV, "%s:%zu: %s%zu fields, the header has %zu",
				       name, line, k > COL_COUNT ? "more than " : "",
				       k > COL_COUNT ? (size_t)COL_COUNT : k, nf);
			goto out;
		}
		memset(&row, 0, sizeof(row));
		row.line = line;
		for (size_t i = 0; i < nf && r == DP_OK; i++)
			r = csv_field(name, line, map[i], &f[i], &row);
		if (r == DP_OK)
			r = csv_push(out, &row);
		if (r)
			goto out;
	}
	if (!header)
		r = dp_err_set(DP_ERR_BATCH_CSV, "%s: empty file", name);
	else if (out->n == 0)
		r = dp_err_set(DP_ERR_BATCH_CSV, "%s: no rows after the header", name);
	else
		r = csv_unique(name, out);
out:
	dp_wipe(&row, sizeof(row));
	if (r)
		dp_import_csv_deinit(out);
	return r;
}

/* ---- the identity inside a package ---- */

void dp_import_identity_wipe(struct dp_import_identity *id)
{
	dp_wipe(id, sizeof(*id));
}

/* The first fillFileContent of the USIM's EF.IMSI, decoded; "" when it has none. */
static int usim_imsi(asn1_node n, char imsi[16])
{
	char path[64], alt[32];
	uint8_t ef[16];
	size_t count = 0, len = 0;
	imsi[0] = '\0';
	if (!dp_asn1_present(n, "usim.ef-imsi") || dp_asn1_count(n, "usim.ef-imsi", &count))
		return DP_OK;
	for (size_t i = 1; i <= count; i++) {
		snprintf(path, sizeof(path), "usim.ef-imsi.?%zu", i);
		if (dp_asn1_read_choice(n, path, alt, sizeof(alt)) != DP_OK ||
		    strcmp(alt, "fillFileContent") != 0)
			continue;
		snprintf(path, sizeof(path), "usim.ef-imsi.?%zu.fillFileContent", i);
		if (dp_asn1_read(n, path, ef, sizeof(ef), &len) != DP_OK || len != 9 ||
		    dp_pg_imsi_from_ef(ef, imsi) != DP_OK)
			return dp_err_set(DP_ERR_PG_PACKAGE, "USIM EF.IMSI is not a valid IMSI");
		return DP_OK;
	}
	return DP_OK;
}

/* An akaParameter's Ki and OPc (a mapping to another NAA's parameters has none): the first
 * is kept, every later one must be the same. */
static int aka_keys(asn1_node n, struct dp_import_identity *id)
{
	char alt[32];
	uint8_t ki[32], opc[32];
	size_t kl = 0, ol = 0;
	int r = DP_OK;
	if (dp_asn1_read_choice(n, "akaParameter.algoConfiguration", alt, sizeof(alt)) != DP_OK ||
	    strcmp(alt, "algoParameter") != 0)
		return DP_OK;
	if (dp_asn1_read(n, "akaParameter.algoConfiguration.algoParameter.key", ki, sizeof(ki),
			 &kl) != DP_OK ||
	    dp_asn1_read(n, "akaParameter.algoConfiguration.algoParameter.opc", opc, sizeof(opc),
			 &ol) != DP_OK) {
		r = dp_err_set(DP_ERR_PG_PACKAGE, "akaParameter: key or opc unreadable");
		goto out;
	}
	if (id->n_aka == 0) {
		memcpy(id->ki, ki, kl);
		memcpy(id->opc, opc, ol);
		id->ki_len = kl;
		id->opc_len = ol;
	} else if (kl != id->ki_len || ol != id->opc_len || !dp_ct_equal(ki, id->ki, kl) ||
		   !dp_ct_equal(opc, id->opc, ol)) {
		r = dp_err_set(DP_ERR_BATCH_MISMATCH,
			       "the package's algoParameters have different keys");
		goto out;
	}
	id->n_aka++;
out:
	dp_wipe(ki, sizeof(ki));
	dp_wipe(opc, sizeof(opc));
	return r;
}

int dp_import_identity_read(const uint8_t *der, size_t len, struct dp_import_identity *out)
{
	struct dp_pg_package pkg;
	bool have_header = false;
	dp_pg_package_init(&pkg);
	memset(out, 0, sizeof(*out));
	int r = dp_asn1_init();
	if (r == DP_OK)
		r = dp_pg_package_parse(der, len, &pkg);
	for (size_t i = 0; r == DP_OK && i < pkg.n; i++) {
		asn1_node n = NULL;
		const char *alt = "";
		uint8_t h[16];
		size_t hl = 0;
		r = dp_asn1_decode_pe(pkg.pes[i].der, pkg.pes[i].len, &n, &alt);
		if (r) {
			r = dp_err_wrap(r, "PE %zu", i + 1);
		} else if (strcmp(alt, "header") == 0 && !have_header) {
			have_header = true;
			if (dp_asn1_read(n, "header.iccid", h, sizeof(h), &hl) != DP_OK ||
			    hl != 10 || dp_pg_iccid_from_header(h, out->iccid) != DP_OK)
				r = dp_err_set(DP_ERR_PG_PACKAGE, "header ICCID is not BCD digits");
		} else if (strcmp(alt, "usim") == 0 && out->imsi[0] == '\0') {
			r = usim_imsi(n, out->imsi);
		} else if (strcmp(alt, "akaParameter") == 0) {
			r = aka_keys(n, out);
		}
		dp_asn1_free(&n);
	}
	if (r == DP_OK && !have_header)
		r = dp_err_set(DP_ERR_PG_PACKAGE, "package has no ProfileHeader");
	dp_pg_package_deinit(&pkg);
	if (r)
		dp_import_identity_wipe(out);
	return r;
}

/* ---- importing a batch ---- */

/* The state of one dp_import_batch call: the problems found so far, the first kept. */
struct batch {
	struct dp_db *db;
	const char *csv_path, *dir;
	const struct dp_import_options *o;
	dp_import_report_cb cb;
	void *ctx;
	size_t problems;
	int first;
	char first_detail[512];
};

/* Records a problem (r with its detail) and reports it; returns r. */
static int problem(struct batch *b, const char *path, int r, const char *iccid)
{
	if (b->problems++ == 0) {
		b->first = r;
		snprintf(b->first_detail, sizeof(b->first_detail), "%s", dp_err_detail());
	}
	if (b->cb != NULL)
		b->cb(b->ctx, path, r, iccid);
	return r;
}

/* The package against its row: ICCID, IMSI and, when the file has them, Ki and OPc (the
 * keys compared in constant time and never printed). */
static int compare_row(const char *path, const char *csv, const struct dp_import_csv_row *row,
		       const struct dp_import_identity *id)
{
	if (strcmp(id->iccid, row->iccid) != 0)
		return dp_err_set(DP_ERR_BATCH_MISMATCH, "%s: header ICCID %s, but %s:%zu has %s",
				  path, id->iccid, csv, row->line, row->iccid);
	if (id->imsi[0] == '\0')
		return dp_err_set(DP_ERR_BATCH_MISMATCH,
				  "%s: no USIM EF.IMSI content, but %s:%zu has IMSI %s", path, csv,
				  row->line, row->imsi);
	if (strcmp(id->imsi, row->imsi) != 0)
		return dp_err_set(DP_ERR_BATCH_MISMATCH, "%s: IMSI %s, but %s:%zu has %s", path,
				  id->imsi, csv, row->line, row->imsi);
	struct {
		const char *what;
		const uint8_t *want, *got;
		size_t want_len, got_len;
	} keys[] = {
	    {"Ki", row->ki, id->ki, row->ki_len, id->ki_len},
	    {"OPc", row->opc, id->opc, row->opc_len, id->opc_len},
	};
	for (size_t k = 0; k < 2; k++) {
		if (keys[k].want_len == 0)
			continue; /* the file has no such column */
		if (id->n_aka == 0)
			return dp_err_set(DP_ERR_BATCH_MISMATCH,
					  "%s: no algoParameter, but %s:%zu gives a %s", path, csv,
					  row->line, keys[k].what);
		if (keys[k].want_len != keys[k].got_len ||
		    !dp_ct_equal(keys[k].want, keys[k].got, keys[k].want_len))
			return dp_err_set(DP_ERR_BATCH_MISMATCH, "%s: %s differs from %s:%zu", path,
					  keys[k].what, csv, row->line);
	}
	return DP_OK;
}

/* Reads one package and checks it against its row; with store, stores it too (the
 * check is made again on the bytes that are stored: the file may have changed since). */
static int batch_one(struct batch *b, const char *path, const struct dp_import_csv_row *row,
		     bool store)
{
	struct dp_import_options o = *b->o;
	struct dp_import_identity id;
	struct dp_import_item it;
	struct dp_buf data;
	struct dp_db_profile p;
	memset(&id, 0, sizeof(id));
	dp_import_item_init(&it);
	dp_db_profile_init(&p);
	dp_buf_init_secret(&data, DP_PG_MAX_PACKAGE);
	if (!store)
		o.ppk = false; /* the check needs no protection keys */
	int r = dp_buf_read_file(&data, path);
	if (r == DP_OK) {
		r = dp_import_identity_read(data.data, data.len, &id);
		if (r && strstr(dp_err_detail(), path) == NULL)
			r = dp_err_wrap(r, "%s", path);
	}
	if (r == DP_OK)
		r = compare_row(path, b->csv_path, row, &id);
	if (r == DP_OK) {
		r = dp_import_prepare(path, data.data, data.len, false, b->dir, &o, &it);
		if (r && strstr(dp_err_detail(), path) == NULL)
			r = dp_err_wrap(r, "%s", path);
	}
	if (r == DP_OK && !store) {
		r = dp_db_profile_get(b->db, row->iccid, false, &p);
		if (r == DP_OK)
			r = dp_err_set(DP_ERR_DB_EXISTS,
				       "%s: ICCID %s (%s:%zu) is already in the order book", path,
				       row->iccid, b->csv_path, row->line);
		else if (r == DP_ERR_NOT_FOUND)
			r = DP_OK;
	}
	if (r == DP_OK && store) {
		r = store_item(b->db, &it, &o);
		if (r)
			r = dp_err_wrap(r, "%s", path);
	}
	dp_import_identity_wipe(&id);
	dp_import_item_deinit(&it);
	dp_db_profile_deinit(&p);
	dp_buf_deinit(&data);
	return r;
}

/* Whether a row has this ICCID (idx sorted by ICCID). */
static bool find_row(const struct dp_import_csv_row *const *idx, size_t n, const char *iccid)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(idx[mid]->iccid, iccid);
		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static int der_name(const struct dirent *e)
{
	return e->d_name[0] != '.' && has_suffix(e->d_name, ".der");
}

/* Every row has its <ICCID>.der and every *.der of the folder is a row's; *paths receives
 * the package path of each row (in row order; free each and the array). */
static int batch_pairs(struct batch *b, const struct dp_import_csv *csv, char ***paths)
{
	const struct dp_import_csv_row **idx = NULL;
	struct dirent **list = NULL;
	char **v = calloc(csv->n, sizeof(*v));
	int n = -1,
	    r = v != NULL ? rows_by(csv, cmp_iccid, &idx) : dp_err_set(DP_ERR_NOMEM, "batch paths");
	if (r)
		goto out;
	n = scandir(b->dir, &list, der_name, alphasort);
	if (n < 0) {
		r = problem(b, b->dir,
			    dp_err_set(DP_ERR_IO, "%s: cannot read the folder: %s", b->dir,
				       strerror(errno)),
			    "");
		goto out;
	}
	/* each package: a regular file named after one row's ICCID */
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", b->dir, list[i]->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		char iccid[DP_DB_ICCID_MAX + 1];
		size_t base = strlen(list[i]->d_name) - 4;
		bool hit = false;
		if (base < sizeof(iccid)) {
			memcpy(iccid, list[i]->d_name, base);
			iccid[base] = '\0';
			hit = find_row(idx, csv->n, iccid);
		}
		if (!hit)
			problem(b, path,
				dp_err_set(DP_ERR_BATCH_MISMATCH, "%s: no row of %s has its ICCID",
					   path, b->csv_path),
				"");
	}
	/* each row: its package */
	for (size_t k = 0; k < csv->n; k++) {
		char path[PATH_MAX];
		struct stat st;
		int len = snprintf(path, sizeof(path), "%s/%s.der", b->dir, csv->rows[k].iccid);
		if (len < 0 || (size_t)len >= sizeof(path)) {
			r = problem(b, b->dir,
				    dp_err_set(DP_ERR_TOO_LONG, "%s: path too long", b->dir), "");
			goto out;
		}
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
			problem(b, path,
				dp_err_set(DP_ERR_BATCH_MISMATCH,
					   "%s:%zu: ICCID %s has no package %s.der in %s",
					   b->csv_path, csv->rows[k].line, csv->rows[k].iccid,
					   csv->rows[k].iccid, b->dir),
				csv->rows[k].iccid);
			continue;
		}
		v[k] = strdup(path);
		if (v[k] == NULL) {
			r = dp_err_set(DP_ERR_NOMEM, "batch paths");
			goto out;
		}
	}
out:
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
	free(idx);
	*paths = v;
	return r;
}

int dp_import_batch(struct dp_db *db, const char *csv_path, const char *dir,
		    const struct dp_import_options *o, dp_import_report_cb cb, void *ctx,
		    size_t *imported)
{
	struct batch b = {.db = db, .csv_path = csv_path, .dir = dir, .o = o, .cb = cb, .ctx = ctx};
	struct dp_import_csv csv;
	struct dp_buf text;
	char **paths = NULL;
	size_t rows = 0;
	dp_import_csv_init(&csv);
	dp_buf_init_secret(&text, DP_IMPORT_CSV_MAX);
	*imported = 0;
	/* 1. the operator file; its secrets live in text and csv only, both wiped */
	int r = dp_buf_read_file(&text, csv_path);
	if (r == DP_OK)
		r = dp_import_csv_parse(csv_path, (const char *)text.data, text.len, &csv);
	dp_buf_deinit(&text);
	if (r) {
		problem(&b, csv_path, r, "");
		goto out;
	}
	rows = csv.n;
	/* 2. rows and files pair up; 3. each pair agrees and would import */
	r = batch_pairs(&b, &csv, &paths);
	for (size_t k = 0; r == DP_OK && k < csv.n; k++) {
		if (paths[k] == NULL)
			continue; /* reported: no package */
		int e = batch_one(&b, paths[k], &csv.rows[k], false);
		if (e)
			problem(&b, paths[k], e, csv.rows[k].iccid);
	}
	if (r || b.problems > 0)
		goto out;
	/* 4. nothing wrong: store them all in one transaction, checked again on the bytes
	 * stored; any failure rolls the whole batch back */
	r = dp_db_batch_begin(db);
	if (r) {
		problem(&b, csv_path, r, "");
		goto out;
	}
	for (size_t k = 0; r == DP_OK && k < csv.n; k++) {
		r = batch_one(&b, paths[k], &csv.rows[k], true);
		if (r)
			problem(&b, paths[k], r, csv.rows[k].iccid);
	}
	{
		int e = dp_db_batch_end(db, r == DP_OK);
		if (r == DP_OK && e != DP_OK) {
			r = e;
			problem(&b, csv_path, r, "");
		}
	}
	if (r)
		goto out;
	*imported = csv.n;
	for (size_t k = 0; cb != NULL && k < csv.n; k++)
		cb(ctx, paths[k], DP_OK, csv.rows[k].iccid);
out:
	for (size_t k = 0; paths != NULL && k < rows; k++)
		free(paths[k]);
	free(paths);
	dp_import_csv_deinit(&csv);
	if (b.problems == 0)
		return r;
	/* the first problem is the answer; the others were reported */
	return dp_err_set(b.first, "%s (%zu problem%s; nothing was imported)", b.first_detail,
			  b.problems, b.problems == 1 ? "" : "s");
}
