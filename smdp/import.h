/* Profile import for the order book (issue 6 items 4 and 7): a SAIP profile package (UPP,
 * DER) or a profilegen YAML becomes a stored Available profile with its ICCID, its
 * StoreMetadataRequest (SGP.22 5.7.2 / 2.4a; BF25, made once here and never re-parsed
 * during a download), profile class and profile policy rules, and optionally
 * pre-protected with fresh PPKs (SGP.22 2.5.3, smdp/bpp.h dp_bpp_protect).
 *
 * For a DER package the metadata comes from the package header's ICCID and the options;
 * for a YAML its `metadata:` mapping is used, options given override its fields. Every
 * package passes dp_pg_check before it is stored. */
#ifndef DP_SMDP_IMPORT_H
#define DP_SMDP_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pki/base/buf.h"
#include "pki/base/error.h"
#include "pki/crypto/kdf.h"
#include "smdp/db.h"

/* Import options (plain data carrier; pointers borrowed, NULL = not given). */
struct dp_import_options {
	const char *profile_type; /* the order book's profile type ("" when NULL) */
	const char *owner;
	bool ppk;	     /* pre-protect the package */
	const char *sp_name; /* serviceProviderName; default "smdp" (DER) */
	const char *name;    /* profileName; default: the ICCID (DER) */
	int profile_class;   /* 0 test, 1 provisioning, 2 operational; -1: not given
			      * (operational for DER, the YAML's otherwise) */
	const char *actor;   /* for the history ("admin" when NULL) */
};

/* A prepared profile, ready for dp_db_profile_add (plain data; _init/_deinit; secret
 * buffers: the package holds Ki/OPc, ppk the protection keys). */
struct dp_import_item {
	char iccid[DP_DB_ICCID_MAX + 1];
	struct dp_buf package;	/* UPP, or the 86 TLVs when has_ppk */
	struct dp_buf metadata; /* BF25 */
	int profile_class;
	uint32_t ppr;
	bool has_ppk;
	struct dp_session_keys ppk;
};

void dp_import_item_init(struct dp_import_item *it);
void dp_import_item_deinit(struct dp_import_item *it);

/* Parses `profile class` text: test, provisioning, operational. DP_ERR_INVAL otherwise. */
int dp_import_class_parse(const char *s, int *out) DP_WUR;

/* Prepares one profile from bytes in memory. yaml selects the YAML reader (name is used in
 * its error messages, base_dir resolves its `base:`). Errors leave *it for deinit. */
int dp_import_prepare(const char *name, const uint8_t *data, size_t len, bool yaml,
		      const char *base_dir, const struct dp_import_options *o,
		      struct dp_import_item *it) DP_WUR;

/* Reads, prepares and stores one file (*.yaml / *.yml: YAML; anything else: DER). Nothing
 * is stored on failure; the error detail starts with the path. DP_ERR_DB_EXISTS names the
 * ICCID. iccid_out (may be NULL; DP_DB_ICCID_MAX + 1 bytes) receives the ICCID. */
int dp_import_file(struct dp_db *db, const char *path, const struct dp_import_options *o,
		   char *iccid_out) DP_WUR;

/* Called once per file dp_import_paths tried: r is 0 or the error (detail in
 * dp_err_detail()), iccid is "" when unknown. */
typedef void (*dp_import_report_cb)(void *ctx, const char *path, int r, const char *iccid);

/* Imports each path: a file, or a folder whose *.der, *.yaml and *.yml files (in name
 * order, not recursive) are imported. One bad file does not stop the others. Returns 0
 * when every file was imported, else the first error; *ok and *failed count files. A
 * folder that holds no such file counts as one failure. */
int dp_import_paths(struct dp_db *db, char *const *paths, size_t n,
		    const struct dp_import_options *o, dp_import_report_cb cb, void *ctx,
		    size_t *ok, size_t *failed) DP_WUR;

#endif
