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

/* ---- a profilegen batch folder with its operator file ----
 * `profilegen batch` writes one <ICCID>.der per profile and the operator CSV for the
 * HSS/UDM (config/profiles/README.md): a header line naming the columns
 * ICCID,IMSI,Ki,OPc,PIN1,PUK1,PIN2,PUK2,ADM1, then one row per profile. The SM-DP+ reads
 * it only to check the folder against it; none of its secrets is stored or logged. */

#define DP_IMPORT_CSV_MAX      (64u << 20) /* bytes of the file */
#define DP_IMPORT_CSV_LINE_MAX 1024	   /* bytes of one line */

/* One row as checked (plain data). Ki and OPc are kept for the comparison with the
 * package and wiped by dp_import_csv_deinit; PINs, PUKs and ADM1 are checked for form
 * (4..8 digits) and not kept. */
struct dp_import_csv_row {
	size_t line;			 /* 1-based line of the file */
	char iccid[DP_DB_ICCID_MAX + 1]; /* 19 or 20 digits, Luhn checked */
	char imsi[16];			 /* 6..15 digits */
	uint8_t ki[32];			 /* Ki (16) or TUAK K (16/32); ki_len 0: no column */
	size_t ki_len;
	uint8_t opc[32]; /* OPc (16) or TOPc (32); opc_len 0: no column */
	size_t opc_len;
};

/* The rows in file order (plain data; _init/_deinit). */
struct dp_import_csv {
	struct dp_import_csv_row *rows;
	size_t n, cap;
};

void dp_import_csv_init(struct dp_import_csv *c);
/* Wipes and frees the rows. */
void dp_import_csv_deinit(struct dp_import_csv *c);

/* Parses an operator file held in memory (name is used in messages: "name:LINE: what").
 * Line 1 (after an optional UTF-8 BOM) is the header: known column names only
 * (case-insensitive), each at most once, ICCID and IMSI required. Every other non-blank
 * line has exactly the header's number of fields, none empty; no quoting; spaces and tabs
 * around a field and a CR before the LF are ignored. ICCIDs and IMSIs must be unique.
 * DP_ERR_BATCH_CSV on any fault, naming the line and column but never a secret value;
 * *out (init'ed by the caller) is then left empty. */
int dp_import_csv_parse(const char *name, const char *text, size_t len,
			struct dp_import_csv *out) DP_WUR;

/* The identifiers and keys inside a package, as the batch check compares them (plain
 * data; wipe with dp_import_identity_wipe). imsi is "" without USIM EF.IMSI content; n_aka
 * counts the algoParameters, whose Ki and OPc must all be equal (else
 * DP_ERR_BATCH_MISMATCH). */
struct dp_import_identity {
	char iccid[DP_DB_ICCID_MAX + 1]; /* ProfileHeader.iccid */
	char imsi[16];			 /* usim EF.IMSI */
	uint8_t ki[32], opc[32];
	size_t ki_len, opc_len, n_aka;
};

void dp_import_identity_wipe(struct dp_import_identity *id);
/* Reads the identity of a UPP (concatenated ProfileElements). */
int dp_import_identity_read(const uint8_t *der, size_t len, struct dp_import_identity *out) DP_WUR;

/* Imports a profilegen batch: the operator file csv_path and the folder dir. Before
 * anything is stored, every row must have its dir/<ICCID>.der, every *.der of dir must be
 * a row's, each package's header ICCID, USIM IMSI and (when the file has the columns)
 * every Ki and OPc must equal its row's, each package must pass dp_import_prepare with
 * the options o, and no ICCID may be in the order book already. Every problem found is
 * reported through cb (path: the CSV or the package; r its error), then the batch is
 * refused whole and nothing is stored: the first problem's code is returned with its
 * detail (DP_ERR_BATCH_CSV, DP_ERR_BATCH_MISMATCH, DP_ERR_DB_EXISTS, a package error).
 * Then each profile is stored (cb once per profile with r = 0); a store failure there (a
 * concurrent import of the same ICCID, the disk) stops the import, *imported saying how
 * many went in. */
int dp_import_batch(struct dp_db *db, const char *csv_path, const char *dir,
		    const struct dp_import_options *o, dp_import_report_cb cb, void *ctx,
		    size_t *imported) DP_WUR;

#endif
