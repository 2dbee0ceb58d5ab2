/* profilegen: operator YAML <-> SAIP profile packages (UPP), personalisation, validation.
 * SAIP "eUICC Profile Package: Interoperable Format" 3.3.1; YAML schema in
 * config/profiles/README.md. Used by the profilegen CLI and by the server. */
#ifndef DP_PROFILEGEN_H
#define DP_PROFILEGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pki/base/buf.h"
#include "pki/base/error.h"

/* Hard limits (bounded buffers): a package, one PE, a YAML document. */
#define DP_PG_MAX_PACKAGE (4u << 20)
#define DP_PG_MAX_PE (1u << 20)
#define DP_PG_MAX_YAML (16u << 20)
#define DP_PG_MAX_PES 512

/* One ProfileElement: its whole DER TLV (owned). */
struct dp_pg_pe {
	uint8_t *der;
	size_t len;
};

/* A package: the PEs in package order. Plain data; _init/_deinit. */
struct dp_pg_package {
	struct dp_pg_pe *pes;
	size_t n;
	size_t cap;
};

void dp_pg_package_init(struct dp_pg_package *p);
/* Frees every PE (wiped: PEs carry Ki/OPc/PINs). */
void dp_pg_package_deinit(struct dp_pg_package *p);
/* Splits a UPP (concatenated PE TLVs) into PEs; each PE must be a well-formed TLV with a
 * ProfileElement tag. Does not decode the PEs (dp_pg_check does). */
int dp_pg_package_parse(const uint8_t *der, size_t len, struct dp_pg_package *p) DP_WUR;
/* Appends a copy of one PE TLV. */
int dp_pg_package_add(struct dp_pg_package *p, const uint8_t *der, size_t len) DP_WUR;
/* Replaces PE i by a copy of der. */
int dp_pg_package_replace(struct dp_pg_package *p, size_t i, const uint8_t *der,
			  size_t len) DP_WUR;
/* Concatenates the PEs. */
int dp_pg_package_der(const struct dp_pg_package *p, struct dp_buf *out) DP_WUR;

/* Personal data of one profile (the fields batch varies). A field is applied when its
 * `has_` flag is set. Secrets are wiped by dp_pg_personal_wipe(). */
struct dp_pg_personal {
	char iccid[21];   /* 19 or 20 digits incl. the Luhn digit (see dp_pg_iccid_normalise) */
	char imsi[16];    /* 6..15 digits */
	uint8_t ki[32];   /* Ki (16) or TUAK K (16/32) */
	size_t ki_len;
	uint8_t opc[32];  /* OPc (16) or TOPc (32) */
	size_t opc_len;
	char pin1[9], puk1[9], pin2[9], puk2[9], adm1[9], adm2[9]; /* digits; "" = keep */
	bool has_iccid, has_imsi;
};

void dp_pg_personal_wipe(struct dp_pg_personal *p);
/* Writes the personal fields into the package PEs (header and EF.ICCID, EF.IMSI and EF.ACC,
 * every algoParameter's key/opc, PIN/PUK/ADM values by key reference), leaving every other
 * byte as it was. A field the package has no place for is an error (DP_ERR_PG_PACKAGE). */
int dp_pg_personalise(struct dp_pg_package *p, const struct dp_pg_personal *pers) DP_WUR;

/* YAML -> package. `name` is used in error messages ("file:line:col: field: what");
 * `base_dir` resolves a relative `base:`. */
int dp_pg_build_yaml(const char *name, const char *text, size_t len, const char *base_dir,
		     struct dp_pg_package *out) DP_WUR;
/* Reads and builds a YAML file. */
int dp_pg_build_file(const char *path, struct dp_pg_package *out) DP_WUR;

/* Profile metadata (SGP.22 StoreMetadataRequest, BF25): not part of the package; the
 * SM-DP+ sends it in authenticateClient and in the BPP. From the YAML `metadata:` mapping
 * (config/profiles/README.md). The ICCID comes from the package header. */
#define DP_PG_META_MAX_ICON 1024
#define DP_PG_META_MAX_NOTIF 16
#define DP_PG_META_MAX_ADDR 255
#define DP_PG_META_MAX_GID 64
#define DP_PG_META_MAX_TEXT 255
struct dp_pg_metadata {
	bool present;              /* the YAML had a metadata: mapping */
	char spn[33];              /* serviceProviderName, UTF-8, 0..32 bytes */
	char name[65];             /* profileName, UTF-8, 0..64 bytes */
	int profile_class;         /* 0 test, 1 provisioning, 2 operational; -1 not given */
	int icon_type;             /* 0 jpg, 1 png; -1 no icon */
	uint8_t icon[DP_PG_META_MAX_ICON];
	size_t icon_len;
	struct {
		uint8_t events;    /* bit i = NotificationEvent i (install 0 .. delete 3) */
		char address[DP_PG_META_MAX_ADDR + 1];
	} notif[DP_PG_META_MAX_NOTIF];
	size_t n_notif;
	bool has_notif;
	bool has_owner, has_gid1, has_gid2;
	uint8_t mcc_mnc[3];        /* 3GPP TS 24.008 PLMN coding */
	uint8_t gid1[DP_PG_META_MAX_GID], gid2[DP_PG_META_MAX_GID];
	size_t gid1_len, gid2_len;
	bool has_ppr;
	uint8_t ppr;               /* bit i = PprIds bit i (pprUpdateControl 0, ppr1 1, ppr2 2) */
	/* SGP.32 and SGP.22 v3 members, as schemas/rsp_definitions.asn has them; each is
	 * encoded only when its has_ flag is set. */
	bool has_ecall, ecall;       /* ecallIndication (SGP.32) */
	bool has_fallback, fallback; /* fallbackAllowed (SGP.32) */
	bool has_hri;                /* hriServerAddress (v3) */
	char hri[DP_PG_META_MAX_ADDR + 1];
	bool has_sp_message, has_sp_language; /* serviceProviderMessage (v3) */
	char sp_language[36];        /* languageTag, RFC 5646 */
	char sp_message[DP_PG_META_MAX_TEXT + 1];
	bool has_service_description;
	uint8_t service_description; /* bit i = ServiceDescription bit i (voice 0, data 1) */
	bool has_size;
	uint64_t estimated_size;     /* estimatedProfileSize, bytes (v3) */
	bool has_lpr, has_lpr_dpi, lpr_trigger; /* lprConfiguration (v3) */
	char lpr_pcmp[DP_PG_META_MAX_ADDR + 1], lpr_dpi[DP_PG_META_MAX_ADDR + 1];
};

/* As dp_pg_build_yaml / dp_pg_build_file, also returning the metadata (meta may be NULL;
 * the metadata is validated either way; meta->present is false without a metadata:). */
int dp_pg_build_yaml_meta(const char *name, const char *text, size_t len,
			  const char *base_dir, struct dp_pg_package *out,
			  struct dp_pg_metadata *meta) DP_WUR;
int dp_pg_build_file_meta(const char *path, struct dp_pg_package *out,
			  struct dp_pg_metadata *meta) DP_WUR;
/* Appends the DER StoreMetadataRequest (BF25) for package p (its header ICCID, EF.ICCID
 * coding) and metadata m. DP_ERR_NOT_FOUND when m is not present; DP_ERR_PG_PACKAGE when
 * the package has no header ICCID. */
int dp_pg_metadata_der(const struct dp_pg_package *p, const struct dp_pg_metadata *m,
		       struct dp_buf *out) DP_WUR;

/* Package -> YAML in the same schema. Every PE is written with named fields where the
 * schema models it and `raw:` otherwise; building the YAML gives the same bytes. */
int dp_pg_dump(const struct dp_pg_package *p, struct dp_buf *yaml) DP_WUR;

/* Validation. On failure returns DP_ERR_PG_CHECK (or a decode error) and *rule names the
 * rule that failed (static string, e.g. "iccid-consistent"); the detail says why. */
int dp_pg_check(const struct dp_pg_package *p, const char **rule) DP_WUR;

/* Identifier encodings (SAIP 3.3.1 / 3GPP TS 31.102 / ITU-T E.118). */
/* 18 digits: Luhn digit appended; 19: kept when its last digit is a valid Luhn digit,
 * otherwise one is appended; 20: the Luhn digit must be right (DP_ERR_PG_LUHN). */
int dp_pg_iccid_normalise(const char *in, char out[21]) DP_WUR;
char dp_pg_luhn_digit(const char *digits, size_t n);
/* ProfileHeader.iccid: BCD in digit order, F-padded. EF.ICCID: nibble-swapped, F-padded. */
int dp_pg_iccid_header(const char *iccid, uint8_t out[10]) DP_WUR;
int dp_pg_iccid_ef(const char *iccid, uint8_t out[10]) DP_WUR;
int dp_pg_iccid_from_header(const uint8_t in[10], char out[21]) DP_WUR;
int dp_pg_iccid_from_ef(const uint8_t in[10], char out[21]) DP_WUR;
/* EF.IMSI (9 bytes): length byte, parity nibble, swapped BCD, F padding. */
int dp_pg_imsi_ef(const char *imsi, uint8_t out[9]) DP_WUR;
int dp_pg_imsi_from_ef(const uint8_t in[9], char out[16]) DP_WUR;
/* EF.ACC: access class 1 << last IMSI digit, big-endian. */
void dp_pg_acc_from_imsi(const char *imsi, uint8_t out[2]);
/* PIN/PUK/ADM value: 4..8 ASCII digits padded with FF to 8 bytes. */
int dp_pg_pin_encode(const char *pin, uint8_t out[8]) DP_WUR;
int dp_pg_pin_decode(const uint8_t in[8], char out[9]) DP_WUR;
/* OPc = AES-128_K(OP) xor OP (3GPP TS 35.206). */
int dp_pg_opc_from_op(const uint8_t k[16], const uint8_t op[16], uint8_t opc[16]) DP_WUR;
/* TOPc from TOP for TUAK (3GPP TS 35.231 6.1): K of 16 or 32 bytes, `iterations` = the
 * AlgoParameter numberOfKeccak (1..255). Checked against TS 35.232/35.233 test sets. */
int dp_pg_topc_from_top(const uint8_t *k, size_t klen, const uint8_t top[32],
			unsigned iterations, uint8_t topc[32]) DP_WUR;

/* Fast personalisation for batches: the template package is encoded once, the offsets of
 * its fixed-size personal fields are found once, and each profile is a copy with those
 * bytes overwritten (no ASN.1 work per profile). Opaque. */
struct dp_pg_stamp;
int dp_pg_stamp_new(const struct dp_pg_package *tpl, struct dp_pg_stamp **out) DP_WUR;
void dp_pg_stamp_free(struct dp_pg_stamp *s);
/* Writes the template with pers applied into out (reset first). Ki/OPc lengths must match
 * the template's. */
int dp_pg_stamp_apply(const struct dp_pg_stamp *s, const struct dp_pg_personal *pers,
		      struct dp_buf *out) DP_WUR;
/* Lengths of the template's Ki and OPc (0 when it has no algoParameter). */
void dp_pg_stamp_key_lengths(const struct dp_pg_stamp *s, size_t *ki, size_t *opc);

/* Batch personalisation: N profiles from one template. ICCID and IMSI ranges count up from
 * the first value (ICCID: the digits before the Luhn digit, Luhn recomputed; width kept);
 * Ki/OPc/PIN1/PUK1/PIN2/PUK2/ADM1 come from the OpenSSL CSPRNG unless csv_in gives them.
 * Operator output (csv_out): header line "ICCID,IMSI,Ki,OPc,PIN1,PUK1,PIN2,PUK2,ADM1", then
 * one line per profile; Ki/OPc in upper-case hex. Packages go to out_dir/<ICCID>.der. */
struct dp_pg_batch {
	size_t count;            /* ignored when csv_in is given (one profile per row) */
	const char *iccid_first; /* 18..20 digits; NULL: keep the template's (csv must give it) */
	const char *imsi_first;  /* 6..15 digits; NULL: keep the template's */
	const char *csv_in;      /* path, or NULL; columns by header name as in csv_out */
	const uint8_t *op;       /* 16-byte OP: OPc derived from each Ki instead of random */
	const char *out_dir;     /* NULL: packages are built but not written (benchmark) */
	FILE *csv_out;           /* NULL: no operator file */
	void (*progress)(size_t done, size_t total, void *arg);
	void *progress_arg;
};
int dp_pg_batch_run(const struct dp_pg_package *tpl, const struct dp_pg_batch *b) DP_WUR;

#endif
