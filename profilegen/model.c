/* One table per PE type (SAIP 3.3.1 PEDefinitions; member names as in the module) drives
 * YAML -> DER (dp_pg_pe_build) and DER -> YAML (dp_pg_pe_dump). Values: integers in
 * decimal, OCTET STRINGs in hex, OIDs dotted, NULL flags as true, and readable forms for
 * the header ICCID, PIN/PUK values, services, algorithmID, sequence numbers, EF.ICCID/
 * EF.IMSI content and (efcontent.c) the USIM's EF.SPN and EF.SMSP content. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pki/asn1/asn1.h"
#include "pki/base/codec.h"
#include "pki/base/secure.h"
#include "profilegen/model.h"
#include "profilegen/profilegen.h"
#include "profilegen/templates.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

enum kind {
	K_UINT, K_HEX, K_UTF8, K_OID, K_FLAG, K_SEQ, K_SEQOF, K_CHOICE,
	K_SERVICES, /* ServicesList: a list of the NULL flags that are present */
	K_ICCID,    /* ProfileHeader.iccid: digits */
	K_PIN,      /* pinValue / pukValue: digits (or 16 hex digits) */
	K_ALGO,     /* algorithmID: name or number */
	K_FILE,     /* File: SEQUENCE OF CHOICE, with iccid:/imsi: content aliases */
	K_SQN,      /* a 6-byte sequence-number value: decimal, at most 2^43 - 1 */
};

struct ty;
struct fld {
	const char *name; /* YAML key = ASN.1 member name */
	const struct ty *t;
	bool opt;         /* OPTIONAL or DEFAULT */
};
struct ty {
	enum kind kind;
	const struct fld *f; /* K_SEQ members, K_CHOICE alternatives */
	size_t n;
	const struct ty *elem; /* K_SEQOF */
};

static const struct ty T_UINT = { K_UINT, NULL, 0, NULL };
static const struct ty T_HEX = { K_HEX, NULL, 0, NULL };
static const struct ty T_UTF8 = { K_UTF8, NULL, 0, NULL };
static const struct ty T_OID = { K_OID, NULL, 0, NULL };
static const struct ty T_FLAG = { K_FLAG, NULL, 0, NULL };
static const struct ty T_ICCID = { K_ICCID, NULL, 0, NULL };
static const struct ty T_PIN = { K_PIN, NULL, 0, NULL };
static const struct ty T_ALGO = { K_ALGO, NULL, 0, NULL };
static const struct ty T_SERVICES = { K_SERVICES, NULL, 0, NULL };
static const struct ty T_FILE = { K_FILE, NULL, 0, NULL };
static const struct ty T_HEX_LIST = { K_SEQOF, NULL, 0, &T_HEX };
static const struct ty T_OID_LIST = { K_SEQOF, NULL, 0, &T_OID };
static const struct ty T_SQN = { K_SQN, NULL, 0, NULL };
static const struct ty T_SQN_LIST = { K_SEQOF, NULL, 0, &T_SQN };

#define SEQ(a) { K_SEQ, a, N(a), NULL }
#define CHOICE(a) { K_CHOICE, a, N(a), NULL }
#define SEQOF(e) { K_SEQOF, NULL, 0, e }

static const struct fld f_peheader[] = {
	{ "mandated", &T_FLAG, true }, { "identification", &T_UINT, false } };
static const struct ty T_PEHEADER = SEQ(f_peheader);

/* ---- ProfileHeader ---- */
static const char *const services[] = {
	"contactless", "usim", "isim", "csim", "milenage", "tuak128", "cave", "gba-usim",
	"gba-isim", "mbms", "eap", "javacard", "multos", "multiple-usim", "multiple-isim",
	"multiple-csim", "tuak256", "usim-test-algorithm", "ber-tlv", "dfLink", "cat-tp",
	"get-identity", "profile-a-x25519", "profile-b-p256", "suciCalculatorApi",
	"dns-resolution", "scp11ac", "scp11c-authorization-mechanism", "s16mode", "eaka" };
static const struct fld f_aid[] = { { "aid", &T_HEX, false }, { "version", &T_HEX, false } };
static const struct ty T_AID = SEQ(f_aid);
static const struct ty T_AID_LIST = SEQOF(&T_AID);
static const struct fld f_iot[] = { { "pix", &T_HEX, false } };
static const struct ty T_IOT = SEQ(f_iot);
static const struct fld f_header[] = {
	{ "major-version", &T_UINT, false }, { "minor-version", &T_UINT, false },
	{ "profileType", &T_UTF8, true }, { "iccid", &T_ICCID, false },
	{ "pol", &T_HEX, true }, { "eUICC-Mandatory-services", &T_SERVICES, false },
	{ "eUICC-Mandatory-GFSTEList", &T_OID_LIST, false },
	{ "connectivityParameters", &T_HEX, true },
	{ "eUICC-Mandatory-AIDs", &T_AID_LIST, true }, { "iotOptions", &T_IOT, true } };
static const struct ty T_HEADER = SEQ(f_header);

/* ---- files ---- */
static const struct fld f_propinfo[] = {
	{ "specialFileInformation", &T_HEX, true }, { "fillPattern", &T_HEX, true },
	{ "repeatPattern", &T_HEX, true }, { "maximumFileSize", &T_HEX, true },
	{ "fileDetails", &T_HEX, true } };
static const struct ty T_PROPINFO = SEQ(f_propinfo);
static const struct fld f_fcp[] = {
	{ "fileDescriptor", &T_HEX, true }, { "fileID", &T_HEX, true },
	{ "dfName", &T_HEX, true }, { "lcsi", &T_HEX, true },
	{ "securityAttributesReferenced", &T_HEX, true }, { "efFileSize", &T_HEX, true },
	{ "pinStatusTemplateDO", &T_HEX, true }, { "shortEFID", &T_HEX, true },
	{ "proprietaryEFInfo", &T_PROPINFO, true }, { "linkPath", &T_HEX, true } };
static const struct ty T_FCP = SEQ(f_fcp);
static const struct fld f_fmcmd[] = {
	{ "filePath", &T_HEX, false }, { "createFCP", &T_FCP, false },
	{ "fillFileOffset", &T_UINT, false }, { "fillFileContent", &T_HEX, false } };
static const struct ty T_FMCMD = CHOICE(f_fmcmd);
static const struct ty T_FM = SEQOF(&T_FMCMD);
static const struct ty T_FM_LIST = SEQOF(&T_FM);
static const struct fld f_gfm[] = {
	{ "gfm-header", &T_PEHEADER, false }, { "fileManagementCMD", &T_FM_LIST, false } };
static const struct ty T_GFM = SEQ(f_gfm);

/* ---- PIN, PUK, AKA, CDMA ---- */
static const struct fld f_pincfg[] = {
	{ "keyReference", &T_UINT, false }, { "pinValue", &T_PIN, false },
	{ "unblockingPINReference", &T_UINT, true }, { "pinAttributes", &T_UINT, true },
	{ "maxNumOfAttemps-retryNumLeft", &T_UINT, true } };
static const struct ty T_PINCFG = SEQ(f_pincfg);
static const struct ty T_PINCFG_LIST = SEQOF(&T_PINCFG);
static const struct fld f_pinchoice[] = {
	{ "pinconfig", &T_PINCFG_LIST, false }, { "filePath", &T_HEX, false } };
static const struct ty T_PINCHOICE = CHOICE(f_pinchoice);
static const struct fld f_pin[] = {
	{ "pin-Header", &T_PEHEADER, false }, { "pinCodes", &T_PINCHOICE, false } };
static const struct ty T_PINCODES = SEQ(f_pin);
static const struct fld f_pukcfg[] = {
	{ "keyReference", &T_UINT, false }, { "pukValue", &T_PIN, false },
	{ "maxNumOfAttemps-retryNumLeft", &T_UINT, true } };
static const struct ty T_PUKCFG = SEQ(f_pukcfg);
static const struct ty T_PUKCFG_LIST = SEQOF(&T_PUKCFG);
static const struct fld f_puk[] = {
	{ "puk-Header", &T_PEHEADER, false }, { "pukCodes", &T_PUKCFG_LIST, false } };
static const struct ty T_PUKCODES = SEQ(f_puk);

static const struct fld f_mapping[] = {
	{ "mappingOptions", &T_HEX, false }, { "mappingSource", &T_HEX, false } };
static const struct ty T_MAPPING = SEQ(f_mapping);
static const struct fld f_algo[] = {
	{ "algorithmID", &T_ALGO, false }, { "algorithmOptions", &T_HEX, false },
	{ "key", &T_HEX, false }, { "opc", &T_HEX, false },
	{ "rotationConstants", &T_HEX, true }, { "xoringConstants", &T_HEX, true },
	{ "authCounterMax", &T_HEX, true }, { "numberOfKeccak", &T_UINT, true } };
static const struct ty T_ALGOPARAM = SEQ(f_algo);
static const struct fld f_algoconf[] = {
	{ "mappingParameter", &T_MAPPING, false }, { "algoParameter", &T_ALGOPARAM, false } };
static const struct ty T_ALGOCONF = CHOICE(f_algoconf);
static const struct fld f_aka[] = {
	{ "aka-header", &T_PEHEADER, false }, { "algoConfiguration", &T_ALGOCONF, false },
	{ "sqnOptions", &T_HEX, true }, { "sqnDelta", &T_SQN, true },
	{ "sqnAgeLimit", &T_SQN, true }, { "sqnInit", &T_SQN_LIST, true } };
static const struct ty T_AKA = SEQ(f_aka);
static const struct fld f_cdma[] = {
	{ "cdma-header", &T_PEHEADER, false }, { "authenticationKey", &T_HEX, false },
	{ "ssd", &T_HEX, true }, { "hrpdAccessAuthenticationData", &T_HEX, true },
	{ "simpleIPAuthenticationData", &T_HEX, true },
	{ "mobileIPAuthenticationData", &T_HEX, true } };
static const struct ty T_CDMA = SEQ(f_cdma);

/* ---- security domains, applications, RFM ---- */
static const struct fld f_addcl[] = { { "protocolParameterData", &T_HEX, false } };
static const struct ty T_ADDCL = SEQ(f_addcl);
static const struct fld f_sysparams[] = {
	{ "volatileMemoryQuotaC7", &T_HEX, true }, { "nonVolatileMemoryQuotaC8", &T_HEX, true },
	{ "globalServiceParameters", &T_HEX, true },
	{ "implicitSelectionParameter", &T_HEX, true },
	{ "volatileReservedMemory", &T_HEX, true }, { "nonVolatileReservedMemory", &T_HEX, true },
	{ "ts102226SIMFileAccessToolkitParameter", &T_HEX, true },
	{ "ts102226AdditionalContactlessParameters", &T_ADDCL, true },
	{ "contactlessProtocolParameters", &T_HEX, true },
	{ "userInteractionContactlessParameters", &T_HEX, true },
	{ "cumulativeGrantedVolatileMemory", &T_HEX, true },
	{ "cumulativeGrantedNonVolatileMemory", &T_HEX, true } };
static const struct ty T_SYSPARAMS = SEQ(f_sysparams);
static const struct fld f_uiccparams[] = {
	{ "uiccToolkitApplicationSpecificParametersField", &T_HEX, true },
	{ "uiccAccessApplicationSpecificParametersField", &T_HEX, true },
	{ "uiccAdministrativeAccessApplicationSpecificParametersField", &T_HEX, true } };
static const struct ty T_UICCPARAMS = SEQ(f_uiccparams);
static const struct fld f_crt[] = { { "applicationProviderIdentifier", &T_HEX, false } };
static const struct ty T_CRT = SEQ(f_crt);
static const struct fld f_inst[] = {
	{ "applicationLoadPackageAID", &T_HEX, false }, { "classAID", &T_HEX, false },
	{ "instanceAID", &T_HEX, false }, { "extraditeSecurityDomainAID", &T_HEX, true },
	{ "applicationPrivileges", &T_HEX, false }, { "lifeCycleState", &T_HEX, true },
	{ "applicationSpecificParametersC9", &T_HEX, false },
	{ "systemSpecificParameters", &T_SYSPARAMS, true },
	{ "applicationParameters", &T_UICCPARAMS, true }, { "processData", &T_HEX_LIST, true },
	{ "controlReferenceTemplate", &T_CRT, true } };
static const struct ty T_INST = SEQ(f_inst);
static const struct ty T_INST_LIST = SEQOF(&T_INST);
static const struct fld f_keycomp[] = {
	{ "keyType", &T_HEX, false }, { "keyData", &T_HEX, false },
	{ "macLength", &T_UINT, true } };
static const struct ty T_KEYCOMP = SEQ(f_keycomp);
static const struct ty T_KEYCOMP_LIST = SEQOF(&T_KEYCOMP);
static const struct fld f_key[] = {
	{ "keyUsageQualifier", &T_HEX, false }, { "keyAccess", &T_HEX, true },
	{ "keyIdentifier", &T_HEX, false }, { "keyVersionNumber", &T_HEX, false },
	{ "keyCounterValue", &T_HEX, true }, { "keyComponents", &T_KEYCOMP_LIST, false } };
static const struct ty T_KEY = SEQ(f_key);
static const struct ty T_KEY_LIST = SEQOF(&T_KEY);
static const struct fld f_openperso[] = {
	{ "restrictParameter", &T_HEX, true }, { "contactlessProtocolParameters", &T_HEX, true } };
static const struct ty T_OPENPERSO = SEQ(f_openperso);
static const struct fld f_cattp[] = {
	{ "catTpMaxSduSize", &T_UINT, false }, { "catTpMaxPduSize", &T_UINT, false } };
static const struct ty T_CATTP = SEQ(f_cattp);
static const struct fld f_sd[] = {
	{ "sd-Header", &T_PEHEADER, false }, { "instance", &T_INST, false },
	{ "keyList", &T_KEY_LIST, true }, { "sdPersoData", &T_HEX_LIST, true },
	{ "openPersoData", &T_OPENPERSO, true }, { "catTpParameters", &T_CATTP, true } };
static const struct ty T_SD = SEQ(f_sd);
static const struct fld f_loadpkg[] = {
	{ "loadPackageAID", &T_HEX, false }, { "securityDomainAID", &T_HEX, true },
	{ "nonVolatileCodeLimitC6", &T_HEX, true }, { "volatileDataLimitC7", &T_HEX, true },
	{ "nonVolatileDataLimitC8", &T_HEX, true }, { "hashValue", &T_HEX, true },
	{ "loadBlockObject", &T_HEX, false } };
static const struct ty T_LOADPKG = SEQ(f_loadpkg);
static const struct fld f_app[] = {
	{ "app-Header", &T_PEHEADER, false }, { "loadBlock", &T_LOADPKG, true },
	{ "instanceList", &T_INST_LIST, true } };
static const struct ty T_APP = SEQ(f_app);
static const struct fld f_adfrfm[] = {
	{ "adfAID", &T_HEX, false }, { "adfAccessDomain", &T_HEX, false },
	{ "adfAdminAccessDomain", &T_HEX, false } };
static const struct ty T_ADFRFM = SEQ(f_adfrfm);
static const struct fld f_rfm[] = {
	{ "rfm-header", &T_PEHEADER, false }, { "instanceAID", &T_HEX, false },
	{ "securityDomainAID", &T_HEX, true }, { "tarList", &T_HEX_LIST, true },
	{ "minimumSecurityLevel", &T_HEX, false }, { "uiccAccessDomain", &T_HEX, false },
	{ "uiccAdminAccessDomain", &T_HEX, false }, { "adfRFMAccess", &T_ADFRFM, true } };
static const struct ty T_RFM = SEQ(f_rfm);
static const struct fld f_nonstd[] = {
	{ "nonStandard-header", &T_PEHEADER, false }, { "issuerID", &T_OID, false },
	{ "content", &T_HEX, false } };
static const struct ty T_NONSTD = SEQ(f_nonstd);
static const struct fld f_end[] = { { "end-header", &T_PEHEADER, false } };
static const struct ty T_END = SEQ(f_end);

struct pe_type {
	const char *alt;
	const struct ty *t;
};
static const struct pe_type fixed_pes[] = {
	{ "header", &T_HEADER }, { "genericFileManagement", &T_GFM }, { "pinCodes", &T_PINCODES },
	{ "pukCodes", &T_PUKCODES }, { "akaParameter", &T_AKA }, { "cdmaParameter", &T_CDMA },
	{ "securityDomain", &T_SD }, { "rfm", &T_RFM }, { "application", &T_APP },
	{ "nonStandard", &T_NONSTD }, { "end", &T_END },
};

/* File-system template PEs: {header, templateID, File members...} from the generated table. */
static struct ty tpl_types[64];
static struct fld *tpl_fields[64];
static pthread_once_t tpl_once = PTHREAD_ONCE_INIT;

static void tpl_init(void)
{
	for (size_t i = 0; i < dp_pg_n_tpls && i < N(tpl_types); i++) {
		const struct dp_pg_tpl *t = &dp_pg_tpls[i];
		struct fld *f = calloc(t->n + 2, sizeof(*f));
		if (f == NULL)
			continue; /* dp_pg_pe_known() then reports the PE as not modelled */
		f[0] = (struct fld){ t->header, &T_PEHEADER, false };
		f[1] = (struct fld){ "templateID", &T_OID, false };
		for (size_t m = 0; m < t->n; m++)
			f[m + 2] = (struct fld){ t->members[m].name, &T_FILE, t->members[m].optional };
		tpl_fields[i] = f;
		tpl_types[i] = (struct ty){ K_SEQ, f, t->n + 2, NULL };
	}
}

static const struct ty *pe_type(const char *alt)
{
	pthread_once(&tpl_once, tpl_init);
	for (size_t i = 0; i < N(fixed_pes); i++)
		if (strcmp(fixed_pes[i].alt, alt) == 0)
			return fixed_pes[i].t;
	for (size_t i = 0; i < dp_pg_n_tpls && i < N(tpl_types); i++)
		if (tpl_fields[i] && strcmp(dp_pg_tpls[i].alt, alt) == 0)
			return &tpl_types[i];
	return NULL;
}

int dp_pg_pe_known(const char *alt)
{
	return pe_type(alt) != NULL;
}

static const char *const algos[] = { NULL, "milenage", "tuak", "usim-test-algorithm" };

/* SAIP 3.3.1 PE-AKAParameter: sqnDelta, sqnAgeLimit and every sqnInit value (without IND)
 * are at most '07FFFFFFFFFF'H; sqnInit has one value per IND, 32. */
#define SQN_MAX 0x07FFFFFFFFFFull
#define SQN_INIT_N 32

/* ======================================================================================
 * YAML -> DER
 * ==================================================================================== */

struct bctx {
	struct dp_pg_ydoc *y;
	asn1_node node;
	const char *pe_alt;      /* the PE being built */
	const char *file_member; /* the File member being built (ef-spn), or NULL */
};

static int join(char *out, size_t cap, const char *a, const char *b)
{
	int n = snprintf(out, cap, "%s%s%s", a, a[0] ? "." : "", b);
	if (n < 0 || (size_t)n >= cap)
		return dp_err_set(DP_ERR_TOO_LONG, "ASN.1 path %s.%s", a, b);
	return DP_OK;
}

/* Hex with optional spaces (for readability); secret buffer, caller wipes via deinit. */
static int parse_hex(struct dp_pg_ydoc *y, yaml_node_t *v, struct dp_buf *out)
{
	const char *s;
	int r = dp_pg_yscalar(y, v, &s);
	if (r)
		return r;
	for (; *s; s++) {
		if (*s == ' ')
			continue;
		if (!s[1])
			return dp_pg_yerr(y, v, DP_ERR_PG_VALUE, "hex has an odd number of digits");
		uint8_t b;
		size_t got;
		if (dp_hex_decode(s, 2, &b, 1, &got) != DP_OK)
			return dp_pg_yerr(y, v, DP_ERR_PG_VALUE, "'%.2s' is not hex", s);
		r = dp_buf_append_byte(out, b);
		if (r)
			return dp_pg_yerr(y, v, r, "value too long");
		s++;
	}
	return DP_OK;
}

static int parse_uint(struct dp_pg_ydoc *y, yaml_node_t *v, uint64_t max, uint64_t *out)
{
	const char *s;
	int r = dp_pg_yscalar(y, v, &s);
	if (r)
		return r;
	char *end;
	if (s[0] < '0' || s[0] > '9')
		return dp_pg_yerr(y, v, DP_ERR_PG_SCHEMA, "expected an integer, found '%s'", s);
	unsigned long long x = strtoull(s, &end, 0);
	if (*end || x > max)
		return dp_pg_yerr(y, v, DP_ERR_PG_VALUE, "'%s' is not an integer in 0..%llu", s,
				  (unsigned long long)max);
	*out = x;
	return DP_OK;
}

static int parse_bool(struct dp_pg_ydoc *y, yaml_node_t *v, bool *out)
{
	const char *s;
	int r = dp_pg_yscalar(y, v, &s);
	if (r)
		return r;
	if (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0)
		*out = true;
	else if (strcmp(s, "false") == 0 || strcmp(s, "no") == 0)
		*out = false;
	else
		return dp_pg_yerr(y, v, DP_ERR_PG_SCHEMA, "expected true or false, found '%s'", s);
	return DP_OK;
}

static int build_value(struct bctx *b, yaml_node_t *v, const char *path, const struct ty *t,
		       const char *member);

/* Key lengths per algorithm (SAIP 3.3.1 AlgoParameter): Milenage and the test algorithm
 * 16 bytes, TUAK 16 or 32. */
static int check_key(struct bctx *b, yaml_node_t *v, const char *path)
{
	char sub[256];
	uint64_t alg;
	uint8_t key[64];
	size_t n = 0;
	int r = join(sub, sizeof(sub), path, "algorithmID");
	if (r || dp_asn1_read_uint(b->node, sub, &alg) != DP_OK)
		return DP_OK; /* reported by the encoder */
	r = join(sub, sizeof(sub), path, "key");
	if (r == DP_OK)
		r = dp_asn1_read(b->node, sub, key, sizeof(key), &n);
	dp_wipe(key, sizeof(key));
	if (r)
		return DP_OK;
	if ((alg == 2 && n != 16 && n != 32) || (alg != 2 && n != 16)) {
		size_t mark = dp_pg_ypush(b->y, "key");
		r = dp_pg_yerr(b->y, dp_pg_yget(b->y, v, "key"), DP_ERR_PG_VALUE,
			       "a %s key must be %s bytes, not %zu bytes",
			       alg < N(algos) && algos[alg] ? algos[alg] : "?",
			       alg == 2 ? "16 or 32" : "16", n);
		dp_pg_ypop(b->y, mark);
	}
	return r;
}

/* algoParameter.top: TOPc = TUAK's derivation from TOP and the key (3GPP TS 35.231 6.1),
 * with the numberOfKeccak written (DEFAULT 1). Needs algorithmID tuak. */
static int algo_topc(struct bctx *b, yaml_node_t *v, const char *path)
{
	char sub[256];
	uint64_t alg = 0, iter = 1;
	struct dp_buf top, key;
	uint8_t topc[32];
	yaml_node_t *n = dp_pg_yget(b->y, v, "top");
	dp_buf_init_secret(&top, 64);
	dp_buf_init_secret(&key, 64);
	size_t mark = dp_pg_ypush(b->y, "top");
	int r = parse_hex(b->y, n, &top);
	if (r == DP_OK && (dp_pg_yget(b->y, v, "opc") || dp_pg_yget(b->y, v, "op")))
		r = dp_pg_yerr(b->y, n, DP_ERR_PG_SCHEMA, "give one of opc, op or top");
	r = r ? r : join(sub, sizeof(sub), path, "algorithmID");
	if (r == DP_OK && (dp_asn1_read_uint(b->node, sub, &alg) != DP_OK || alg != 2))
		r = dp_pg_yerr(b->y, n, DP_ERR_PG_VALUE,
			       "top (TOP -> TOPc) needs algorithmID tuak; Milenage takes op");
	r = r ? r : join(sub, sizeof(sub), path, "numberOfKeccak");
	if (r == DP_OK && dp_asn1_read_uint(b->node, sub, &iter) != DP_OK) {
		dp_err_clear();
		iter = 1; /* DEFAULT */
	}
	r = r ? r : join(sub, sizeof(sub), path, "key");
	r = r ? r : dp_asn1_read_buf(b->node, sub, &key);
	if (r == DP_OK && top.len != 32)
		r = dp_pg_yerr(b->y, n, DP_ERR_PG_VALUE, "TOP must be 32 bytes, not %zu", top.len);
	if (r == DP_OK && (iter < 1 || iter > 255))
		r = dp_pg_yerr(b->y, n, DP_ERR_PG_VALUE, "numberOfKeccak must be 1..255");
	r = r ? r : dp_pg_topc_from_top(key.data, key.len, top.data, (unsigned)iter, topc);
	r = r ? r : join(sub, sizeof(sub), path, "opc");
	r = r ? r : dp_asn1_write(b->node, sub, topc, sizeof(topc));
	if (r && strstr(dp_err_detail(), ": ") == NULL)
		r = dp_pg_yerr(b->y, n, r, "%s", dp_err_detail());
	dp_pg_ypop(b->y, mark);
	dp_wipe(topc, sizeof(topc));
	dp_buf_deinit(&top);
	dp_buf_deinit(&key);
	return r;
}

static int build_seq(struct bctx *b, yaml_node_t *v, const char *path, const struct ty *t)
{
	const char *allowed[160];
	char sub[256];
	size_t na = 0;
	for (size_t i = 0; i < t->n && na < N(allowed) - 3; i++)
		allowed[na++] = t->f[i].name;
	if (t == &T_ALGOPARAM) {
		allowed[na++] = "op";  /* Milenage OPc computed from OP and the key */
		allowed[na++] = "top"; /* TUAK TOPc computed from TOP and the key */
	}
	allowed[na] = NULL;
	int r = dp_pg_ymap_check(b->y, v, allowed);
	if (r)
		return r;
	for (size_t i = 0; i < t->n; i++) {
		const struct fld *f = &t->f[i];
		yaml_node_t *c = dp_pg_yget(b->y, v, f->name);
		r = join(sub, sizeof(sub), path, f->name);
		if (r)
			return r;
		if (c == NULL && t == &T_ALGOPARAM && strcmp(f->name, "opc") == 0 &&
		    (dp_pg_yget(b->y, v, "op") != NULL || dp_pg_yget(b->y, v, "top") != NULL))
			continue; /* written below from op or top */
		if (c == NULL) {
			if (!f->opt)
				return dp_pg_yerr(b->y, v, DP_ERR_PG_SCHEMA, "missing field '%s'",
						  f->name);
			if (dp_asn1_omit(b->node, sub) != DP_OK) /* DEFAULT members may refuse: harmless */
				dp_err_clear();
			continue;
		}
		size_t mark = dp_pg_ypush(b->y, f->name);
		if (f->t->kind == K_FLAG) {
			bool on = false;
			r = parse_bool(b->y, c, &on);
			if (r == DP_OK && !on)
				r = dp_asn1_omit(b->node, sub);
		} else {
			r = build_value(b, c, sub, f->t, f->name);
		}
		dp_pg_ypop(b->y, mark);
		if (r)
			return r;
	}
	if (t == &T_ALGOPARAM) {
		r = check_key(b, v, path);
		if (r)
			return r;
	}
	if (t == &T_ALGOPARAM && dp_pg_yget(b->y, v, "op") != NULL) {
		yaml_node_t *opn = dp_pg_yget(b->y, v, "op");
		struct dp_buf op, key;
		uint8_t opc[16];
		dp_buf_init_secret(&op, 32);
		dp_buf_init_secret(&key, 64);
		size_t mark = dp_pg_ypush(b->y, "op");
		r = parse_hex(b->y, opn, &op);
		if (r == DP_OK && dp_pg_yget(b->y, v, "opc") != NULL)
			r = dp_pg_yerr(b->y, opn, DP_ERR_PG_SCHEMA, "give either op or opc, not both");
		if (r == DP_OK)
			r = join(sub, sizeof(sub), path, "key");
		if (r == DP_OK)
			r = dp_asn1_read_buf(b->node, sub, &key);
		if (r == DP_OK && (op.len != 16 || key.len != 16))
			r = dp_pg_yerr(b->y, opn, DP_ERR_PG_VALUE,
				       "OP and key must be 16 bytes (Milenage) to derive OPc");
		if (r == DP_OK)
			r = dp_pg_opc_from_op(key.data, op.data, opc);
		if (r == DP_OK)
			r = join(sub, sizeof(sub), path, "opc");
		if (r == DP_OK)
			r = dp_asn1_write(b->node, sub, opc, 16);
		dp_pg_ypop(b->y, mark);
		dp_wipe(opc, sizeof(opc));
		dp_buf_deinit(&op);
		dp_buf_deinit(&key);
		if (r)
			return r;
	}
	if (t == &T_ALGOPARAM && dp_pg_yget(b->y, v, "top") != NULL)
		return algo_topc(b, v, path);
	return DP_OK;
}

static int build_choice(struct bctx *b, yaml_node_t *v, const char *path, const struct ty *t)
{
	char sub[256];
	if (v->type != YAML_MAPPING_NODE ||
	    v->data.mapping.pairs.top - v->data.mapping.pairs.start != 1)
		return dp_pg_yerr(b->y, v, DP_ERR_PG_SCHEMA,
				  "expected a mapping with exactly one of the alternatives");
	yaml_node_t *k = dp_pg_ynode(b->y, v->data.mapping.pairs.start->key);
	yaml_node_t *c = dp_pg_ynode(b->y, v->data.mapping.pairs.start->value);
	const char *ks;
	int r = dp_pg_yscalar(b->y, k, &ks);
	if (r)
		return r;
	for (size_t i = 0; i < t->n; i++) {
		const struct fld *f = &t->f[i];
		if (strcmp(f->name, ks) != 0)
			continue;
		r = dp_asn1_choose(b->node, path, f->name);
		if (r)
			return dp_pg_yerr(b->y, k, r, "%s", dp_err_detail());
		if (f->t->kind == K_FLAG)
			return DP_OK;
		r = join(sub, sizeof(sub), path, f->name);
		if (r)
			return r;
		size_t mark = dp_pg_ypush(b->y, f->name);
		r = build_value(b, c, sub, f->t, f->name);
		dp_pg_ypop(b->y, mark);
		return r;
	}
	return dp_pg_yerr(b->y, k, DP_ERR_PG_SCHEMA, "unknown key '%s'", ks);
}

static int build_list(struct bctx *b, yaml_node_t *v, const char *path, const struct ty *elem,
		      const char *member)
{
	char sub[256];
	if (v->type != YAML_SEQUENCE_NODE)
		return dp_pg_yerr(b->y, v, DP_ERR_PG_SCHEMA, "expected a list");
	int r = join(sub, sizeof(sub), path, "?LAST");
	if (r)
		return r;
	size_t i = 0;
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++, i++) {
		yaml_node_t *c = dp_pg_ynode(b->y, *it);
		r = dp_asn1_append(b->node, path);
		if (r)
			return dp_pg_yerr(b->y, c, r, "%s", dp_err_detail());
		size_t mark = dp_pg_ypush_index(b->y, i);
		r = build_value(b, c, sub, elem, member);
		dp_pg_ypop(b->y, mark);
		if (r)
			return r;
	}
	return DP_OK;
}

/* A File: list of {doNotCreate, fileDescriptor, fillFileOffset, fillFileContent}, plus
 * the content aliases iccid: (EF.ICCID coding) and imsi: (EF.IMSI coding). */
static const struct fld f_file[] = {
	{ "doNotCreate", &T_FLAG, false }, { "fileDescriptor", &T_FCP, false },
	{ "fillFileOffset", &T_UINT, false }, { "fillFileContent", &T_HEX, false } };
static const struct ty T_FILECHOICE = CHOICE(f_file);

static int build_file(struct bctx *b, yaml_node_t *v, const char *path, const char *member)
{
	char sub[256];
	if (v->type != YAML_SEQUENCE_NODE)
		return dp_pg_yerr(b->y, v, DP_ERR_PG_SCHEMA, "expected a list");
	int r = join(sub, sizeof(sub), path, "?LAST");
	if (r)
		return r;
	b->file_member = member; /* fillFileContent/fillPattern may use its readable form */
	size_t i = 0;
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++, i++) {
		yaml_node_t *c = dp_pg_ynode(b->y, *it);
		size_t mark = dp_pg_ypush_index(b->y, i);
		r = dp_asn1_append(b->node, path);
		if (r) {
			r = dp_pg_yerr(b->y, c, r, "%s", dp_err_detail());
			goto next;
		}
		yaml_node_t *iccid = dp_pg_yget(b->y, c, "iccid");
		yaml_node_t *imsi = dp_pg_yget(b->y, c, "imsi");
		if ((iccid || imsi) && c->data.mapping.pairs.top - c->data.mapping.pairs.start == 1) {
			uint8_t ef[10];
			size_t efn = 0;
			const char *s;
			char norm[21];
			char fill[300];
			size_t m2 = dp_pg_ypush(b->y, iccid ? "iccid" : "imsi");
			r = dp_pg_yscalar(b->y, iccid ? iccid : imsi, &s);
			if (r == DP_OK && iccid) {
				r = dp_pg_iccid_normalise(s, norm);
				if (r == DP_OK)
					r = dp_pg_iccid_ef(norm, ef);
				efn = 10;
			} else if (r == DP_OK) {
				r = dp_pg_imsi_ef(s, ef);
				efn = 9;
			}
			if (r && strchr(dp_err_detail(), ':') == NULL)
				r = dp_pg_yerr(b->y, iccid ? iccid : imsi, r, "%s", dp_err_detail());
			if (r == DP_OK) {
				snprintf(fill, sizeof(fill), "%s.fillFileContent", sub);
				r = dp_asn1_choose(b->node, sub, "fillFileContent");
				if (r == DP_OK)
					r = dp_asn1_write(b->node, fill, ef, efn);
			}
			dp_pg_ypop(b->y, m2);
		} else {
			r = build_choice(b, c, sub, &T_FILECHOICE);
		}
next:
		dp_pg_ypop(b->y, mark);
		if (r)
			break;
	}
	b->file_member = NULL;
	return r;
}

/* sqnInit: a list of the 32 values (one per IND), or one value for all 32. */
static int build_sqn_init(struct bctx *b, yaml_node_t *v, const char *path)
{
	char sub[256];
	int r = join(sub, sizeof(sub), path, "?LAST");
	if (r)
		return r;
	if (v->type == YAML_SEQUENCE_NODE) {
		size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
		if (n != SQN_INIT_N)
			return dp_pg_yerr(b->y, v, DP_ERR_PG_VALUE,
					  "sqnInit has %d values (one per IND), not %zu; or give one "
					  "value for all", SQN_INIT_N, n);
		return build_list(b, v, path, &T_SQN, "sqnInit");
	}
	for (int i = 0; i < SQN_INIT_N; i++) {
		r = dp_asn1_append(b->node, path);
		if (r)
			return dp_pg_yerr(b->y, v, r, "%s", dp_err_detail());
		r = build_value(b, v, sub, &T_SQN, "sqnInit");
		if (r)
			return r;
	}
	return DP_OK;
}

static int build_value(struct bctx *b, yaml_node_t *v, const char *path, const struct ty *t,
		       const char *member)
{
	const char *s;
	int r = DP_OK;
	switch (t->kind) {
	case K_SEQ:
		return build_seq(b, v, path, t);
	case K_CHOICE:
		return build_choice(b, v, path, t);
	case K_SEQOF:
		if (t == &T_SQN_LIST)
			return build_sqn_init(b, v, path);
		return build_list(b, v, path, t->elem, member);
	case K_FILE:
		return build_file(b, v, path, member);
	case K_FLAG:
		return DP_OK;
	case K_UINT: {
		uint64_t x;
		r = parse_uint(b->y, v, UINT32_MAX, &x);
		if (r == DP_OK)
			r = dp_asn1_write_uint(b->node, path, x);
		break;
	}
	case K_SQN: {
		uint64_t x;
		uint8_t be[6];
		r = parse_uint(b->y, v, SQN_MAX, &x);
		for (int i = 0; i < 6; i++)
			be[i] = (uint8_t)(x >> (8 * (5 - i)));
		if (r == DP_OK)
			r = dp_asn1_write(b->node, path, be, sizeof(be));
		break;
	}
	case K_ALGO: {
		uint64_t x = 0;
		r = dp_pg_yscalar(b->y, v, &s);
		if (r)
			return r;
		for (size_t i = 1; i < N(algos); i++)
			if (strcmp(algos[i], s) == 0)
				x = i;
		if (x == 0)
			r = parse_uint(b->y, v, 255, &x);
		if (r == DP_OK)
			r = dp_asn1_write_uint(b->node, path, x);
		break;
	}
	case K_HEX: {
		struct dp_buf h;
		int ef = DP_PG_EF_NONE;
		if (v->type != YAML_SCALAR_NODE && member &&
		    (strcmp(member, "fillFileContent") == 0 || strcmp(member, "fillPattern") == 0))
			ef = dp_pg_ef_kind(b->pe_alt, b->file_member);
		dp_buf_init_secret(&h, DP_PG_MAX_PE);
		r = ef != DP_PG_EF_NONE ? dp_pg_ef_build(b->y, ef, v, &h) : parse_hex(b->y, v, &h);
		if (r == DP_OK)
			r = dp_asn1_write(b->node, path, h.data, h.len);
		dp_buf_deinit(&h);
		break;
	}
	case K_UTF8:
	case K_OID:
		r = dp_pg_yscalar(b->y, v, &s);
		if (r == DP_OK)
			r = dp_asn1_write_str(b->node, path, s);
		break;
	case K_ICCID: {
		char norm[21];
		uint8_t bcd[10];
		r = dp_pg_yscalar(b->y, v, &s);
		if (r)
			return r;
		r = dp_pg_iccid_normalise(s, norm);
		if (r == DP_OK)
			r = dp_pg_iccid_header(norm, bcd);
		if (r)
			return dp_pg_yerr(b->y, v, r, "%s", dp_err_detail());
		r = dp_asn1_write(b->node, path, bcd, 10);
		break;
	}
	case K_PIN: {
		uint8_t pin[8];
		size_t got = 0;
		r = dp_pg_yscalar(b->y, v, &s);
		if (r)
			return r;
		if (strlen(s) == 16)
			r = dp_hex_decode(s, 16, pin, 8, &got);
		else
			r = dp_pg_pin_encode(s, pin);
		if (r)
			r = dp_pg_yerr(b->y, v, DP_ERR_PG_VALUE,
				       "expected 4 to 8 digits or 16 hex digits");
		else
			r = dp_asn1_write(b->node, path, pin, 8);
		dp_wipe(pin, sizeof(pin));
		break;
	}
	case K_SERVICES: {
		bool on[N(services)] = { false };
		char sub[256];
		if (v->type != YAML_SEQUENCE_NODE)
			return dp_pg_yerr(b->y, v, DP_ERR_PG_SCHEMA, "expected a list of services");
		for (yaml_node_item_t *it = v->data.sequence.items.start;
		     it < v->data.sequence.items.top; it++) {
			yaml_node_t *c = dp_pg_ynode(b->y, *it);
			r = dp_pg_yscalar(b->y, c, &s);
			if (r)
				return r;
			size_t i = 0;
			while (i < N(services) && strcmp(services[i], s) != 0)
				i++;
			if (i == N(services))
				return dp_pg_yerr(b->y, c, DP_ERR_PG_SCHEMA, "unknown service '%s'", s);
			if (on[i])
				return dp_pg_yerr(b->y, c, DP_ERR_PG_DUPLICATE, "service '%s' twice", s);
			on[i] = true;
		}
		for (size_t i = 0; i < N(services); i++) {
			r = join(sub, sizeof(sub), path, services[i]);
			if (r == DP_OK && !on[i])
				r = dp_asn1_omit(b->node, sub);
			if (r)
				return r;
		}
		return DP_OK;
	}
	}
	if (r && strstr(dp_err_detail(), ": ") == NULL)
		r = dp_pg_yerr(b->y, v, r, "%s", dp_err_detail());
	return r;
}

int dp_pg_pe_build(struct dp_pg_ydoc *y, const char *alt, yaml_node_t *v, struct dp_buf *der)
{
	char type[96];
	struct bctx b = { y, NULL, alt, NULL };
	const struct ty *t = pe_type(alt);
	if (t == NULL)
		return dp_pg_yerr(y, v, DP_ERR_PG_SCHEMA, "unknown profile element '%s'", alt);
	snprintf(type, sizeof(type), "PEDefinitions.PEW-%s", alt);
	int r = dp_asn1_create(type, &b.node);
	if (r)
		goto out;
	r = dp_asn1_choose(b.node, "", alt);
	if (r)
		goto out;
	r = build_seq(&b, v, alt, t);
	if (r)
		goto out;
	r = dp_asn1_encode(b.node, "", der);
	if (r)
		r = dp_pg_yerr(y, v, r, "cannot encode: %s", dp_err_detail());
out:
	dp_asn1_free(&b.node);
	return r;
}

/* ======================================================================================
 * DER -> YAML
 * ==================================================================================== */

struct em {
	struct dp_buf *out;
	asn1_node node;
	int dashes;              /* list dashes pending on the next line */
	const char *pe_alt;      /* the PE being written */
	const char *file_member; /* the File member being written (ef-spn), or NULL */
	const char *file_path;   /* its ASN.1 path */
};

static int put(struct em *e, const char *s)
{
	return dp_buf_append_str(e->out, s);
}

static int line(struct em *e, int indent)
{
	int r = DP_OK;
	int sp = indent - 2 * e->dashes;
	for (int i = 0; i < sp && r == DP_OK; i++)
		r = dp_buf_append_byte(e->out, ' ');
	for (; e->dashes > 0 && r == DP_OK; e->dashes--)
		r = put(e, "- ");
	return r;
}

static int put_quoted(struct em *e, const char *s)
{
	int r = dp_buf_append_byte(e->out, '"');
	for (; *s && r == DP_OK; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			r = dp_buf_printf(e->out, "\\%c", c);
		else if (c < 0x20 || c == 0x7F)
			r = dp_buf_printf(e->out, "\\x%02X", c);
		else
			r = dp_buf_append_byte(e->out, c);
	}
	if (r == DP_OK)
		r = dp_buf_append_byte(e->out, '"');
	return r;
}

static int put_hex(struct em *e, const uint8_t *p, size_t n)
{
	if (n == 0)
		return put(e, "\"\"");
	return dp_hex_encode_buf(p, n, true, e->out);
}

/* A 6-byte sequence-number value within SQN_MAX (otherwise the PE is written raw). */
static int sqn_read(struct em *e, const char *path, uint64_t *x)
{
	uint8_t b[8];
	size_t n;
	int r = dp_asn1_read(e->node, path, b, sizeof(b), &n);
	if (r)
		return r;
	*x = 0;
	for (size_t i = 0; i < n; i++)
		*x = *x << 8 | b[i];
	if (n != 6 || *x > SQN_MAX)
		return dp_err_set(DP_ERR_PG_VALUE, "%s is not a SAIP sequence number", path);
	return DP_OK;
}

/* The record length of the File at path from its fileDescriptor (TS 102 222: descriptor
 * byte, coding byte, record length on two bytes), 0 when it has none. */
static size_t file_record_len(struct em *e, const char *path)
{
	char sub[300];
	uint8_t fd[8];
	size_t n, cnt;
	if (path == NULL || dp_asn1_count(e->node, path, &cnt) != DP_OK)
		return 0;
	for (size_t i = 1; i <= cnt; i++) {
		snprintf(sub, sizeof(sub), "%s.?%zu.fileDescriptor.fileDescriptor", path, i);
		if (dp_asn1_present(e->node, sub) && dp_asn1_read(e->node, sub, fd, sizeof(fd), &n) ==
								 DP_OK && n >= 4)
			return (size_t)fd[2] << 8 | fd[3];
	}
	dp_err_clear();
	return 0;
}

/* fillFileContent / fillPattern of a modelled EF: its readable form, when it gives the
 * bytes back; DP_ERR_NOT_FOUND when the caller should write hex. */
static int dump_ef(struct em *e, const char *path, const char *name, int indent)
{
	if (e->file_member == NULL ||
	    (strcmp(name, "fillFileContent") != 0 && strcmp(name, "fillPattern") != 0))
		return DP_ERR_NOT_FOUND;
	int kind = dp_pg_ef_kind(e->pe_alt, e->file_member);
	if (kind == DP_PG_EF_NONE)
		return DP_ERR_NOT_FOUND;
	struct dp_buf h, lines;
	dp_buf_init(&h, DP_PG_MAX_PE);
	dp_buf_init(&lines, DP_PG_MAX_PE);
	int r = dp_asn1_read_buf(e->node, path, &h);
	if (r == DP_OK && dp_pg_ef_dump(kind, h.data, h.len, file_record_len(e, e->file_path),
					indent + 2, &lines) != DP_OK)
		r = DP_ERR_NOT_FOUND;
	r = r ? r : put(e, "\n");
	r = r ? r : dp_buf_append(e->out, lines.data, lines.len);
	dp_buf_deinit(&h);
	dp_buf_deinit(&lines);
	dp_err_clear();
	return r;
}

/* Writes the scalar text of a primitive value (no newline). */
static int dump_scalar(struct em *e, const char *path, const struct ty *t)
{
	int r;
	switch (t->kind) {
	case K_UINT:
	case K_ALGO: {
		uint64_t x;
		r = dp_asn1_read_uint(e->node, path, &x);
		if (r)
			return r;
		if (t->kind == K_ALGO && x >= 1 && x < N(algos))
			return put(e, algos[x]);
		return dp_buf_printf(e->out, "%llu", (unsigned long long)x);
	}
	case K_HEX: {
		struct dp_buf h;
		dp_buf_init_secret(&h, DP_PG_MAX_PE);
		r = dp_asn1_read_buf(e->node, path, &h);
		if (r == DP_OK)
			r = put_hex(e, h.data, h.len);
		dp_buf_deinit(&h);
		return r;
	}
	case K_UTF8: {
		char s[1024];
		r = dp_asn1_read_str(e->node, path, s, sizeof(s));
		return r ? r : put_quoted(e, s);
	}
	case K_OID: {
		char s[256];
		r = dp_asn1_read_str(e->node, path, s, sizeof(s));
		return r ? r : put(e, s);
	}
	case K_SQN: {
		uint64_t x;
		r = sqn_read(e, path, &x);
		return r ? r : dp_buf_printf(e->out, "%llu", (unsigned long long)x);
	}
	case K_ICCID: {
		uint8_t b[16];
		size_t n;
		char d[21];
		uint8_t again[10];
		r = dp_asn1_read(e->node, path, b, sizeof(b), &n);
		if (r)
			return r;
		if (n != 10 || dp_pg_iccid_from_header(b, d) != DP_OK ||
		    dp_pg_iccid_normalise(d, d) != DP_OK || dp_pg_iccid_header(d, again) != DP_OK ||
		    memcmp(again, b, 10) != 0)
			return dp_err_set(DP_ERR_PG_VALUE, "header ICCID is not a valid ICCID");
		return put_quoted(e, d);
	}
	case K_PIN: {
		uint8_t b[16];
		size_t n;
		char d[9];
		r = dp_asn1_read(e->node, path, b, sizeof(b), &n);
		if (r == DP_OK && n == 8 && dp_pg_pin_decode(b, d) == DP_OK)
			r = put_quoted(e, d);
		else if (r == DP_OK && n == 8)
			r = put_hex(e, b, n);
		else if (r == DP_OK)
			r = dp_err_set(DP_ERR_PG_VALUE, "PIN value of %zu bytes", n);
		dp_wipe(b, sizeof(b));
		dp_wipe(d, sizeof(d));
		return r;
	}
	default:
		return dp_err_set(DP_ERR_INTERNAL, "not a scalar kind");
	}
}

static int dump_field(struct em *e, const char *path, const char *name, const struct ty *t,
		      int indent);

/* sqnInit: one value when all 32 are equal (the usual case), else the list. */
static int dump_sqn_init(struct em *e, const char *path, size_t n)
{
	char sub[300];
	uint64_t first = 0, x;
	bool same = n == SQN_INIT_N;
	for (size_t i = 1; i <= n; i++) {
		snprintf(sub, sizeof(sub), "%s.?%zu", path, i);
		int r = sqn_read(e, sub, &x);
		if (r)
			return r;
		if (i == 1)
			first = x;
		same = same && x == first;
	}
	if (n != SQN_INIT_N)
		return dp_err_set(DP_ERR_PG_VALUE, "sqnInit with %zu values", n);
	if (same)
		return dp_buf_printf(e->out, " %llu\n", (unsigned long long)first);
	int r = put(e, " [");
	for (size_t i = 1; i <= n && r == DP_OK; i++) {
		snprintf(sub, sizeof(sub), "%s.?%zu", path, i);
		r = sqn_read(e, sub, &x);
		r = r ? r : dp_buf_printf(e->out, "%s%llu", i > 1 ? ", " : "", (unsigned long long)x);
	}
	return r ? r : put(e, "]\n");
}

static int dump_seq_fields(struct em *e, const char *path, const struct ty *t, int indent)
{
	char sub[256];
	int r, shown = 0;
	for (size_t i = 0; i < t->n; i++) {
		r = join(sub, sizeof(sub), path, t->f[i].name);
		if (r)
			return r;
		if (!dp_asn1_present(e->node, sub)) {
			if (!t->f[i].opt)
				return dp_err_set(DP_ERR_ASN1_FIELD, "%s missing", sub);
			continue;
		}
		r = dump_field(e, sub, t->f[i].name, t->f[i].t, indent);
		if (r)
			return r;
		shown++;
	}
	if (shown == 0) {
		r = line(e, indent);
		return r ? r : put(e, "{}\n");
	}
	return DP_OK;
}

/* Writes one list element (at indent, dash included). */
static int dump_item(struct em *e, const char *path, const struct ty *t, int indent,
		     const char *member);

static int dump_list(struct em *e, const char *path, const struct ty *elem, int indent,
		     const char *member)
{
	char sub[300];
	size_t n;
	int r = dp_asn1_count(e->node, path, &n);
	if (r)
		return r;
	for (size_t i = 1; i <= n; i++) {
		snprintf(sub, sizeof(sub), "%s.?%zu", path, i);
		r = dump_item(e, sub, elem, indent, member);
		if (r)
			return r;
	}
	return DP_OK;
}

/* File element: CHOICE, with the content aliases for EF.ICCID and EF.IMSI. */
static int dump_file_item(struct em *e, const char *path, const char *member, int indent)
{
	char alt[64], sub[300];
	int r = dp_asn1_read_choice(e->node, path, alt, sizeof(alt));
	if (r)
		return r;
	if (join(sub, sizeof(sub), path, alt) != DP_OK)
			return DP_ERR_TOO_LONG;
	if (strcmp(alt, "fillFileContent") == 0 &&
	    (strcmp(member, "ef-iccid") == 0 || strcmp(member, "ef-imsi") == 0)) {
		uint8_t b[16], again[10];
		size_t n;
		char d[21];
		bool iccid = member[3] == 'i' && member[4] == 'c';
		r = dp_asn1_read(e->node, sub, b, sizeof(b), &n);
		if (r == DP_ERR_TOO_LONG)
			n = 0;
		else if (r)
			return r;
		if (iccid && n == 10 && dp_pg_iccid_from_ef(b, d) == DP_OK &&
		    dp_pg_iccid_normalise(d, d) == DP_OK && dp_pg_iccid_ef(d, again) == DP_OK &&
		    memcmp(again, b, 10) == 0) {
			e->dashes++;
			r = line(e, indent + 2);
			r = r ? r : put(e, "iccid: ");
			r = r ? r : put_quoted(e, d);
			return r ? r : put(e, "\n");
		}
		if (!iccid && n == 9 && dp_pg_imsi_from_ef(b, d) == DP_OK &&
		    dp_pg_imsi_ef(d, again) == DP_OK && memcmp(again, b, 9) == 0) {
			e->dashes++;
			r = line(e, indent + 2);
			r = r ? r : put(e, "imsi: ");
			r = r ? r : put_quoted(e, d);
			return r ? r : put(e, "\n");
		}
	}
	e->dashes++;
	for (size_t i = 0; i < N(f_file); i++)
		if (strcmp(f_file[i].name, alt) == 0)
			return dump_field(e, sub, alt, f_file[i].t, indent + 2);
	return dp_err_set(DP_ERR_ASN1_VALUE, "File alternative %s", alt);
}

static int dump_item(struct em *e, const char *path, const struct ty *t, int indent,
		     const char *member)
{
	int r;
	char alt[64], sub[300];
	switch (t->kind) {
	case K_SEQ:
		e->dashes++;
		return dump_seq_fields(e, path, t, indent + 2);
	case K_CHOICE:
		r = dp_asn1_read_choice(e->node, path, alt, sizeof(alt));
		if (r)
			return r;
		if (join(sub, sizeof(sub), path, alt) != DP_OK)
			return DP_ERR_TOO_LONG;
		e->dashes++;
		for (size_t i = 0; i < t->n; i++)
			if (strcmp(t->f[i].name, alt) == 0)
				return dump_field(e, sub, alt, t->f[i].t, indent + 2);
		return dp_err_set(DP_ERR_ASN1_VALUE, "%s: alternative %s", path, alt);
	case K_SEQOF: {
		size_t n;
		r = dp_asn1_count(e->node, path, &n);
		if (r)
			return r;
		if (n == 0) {
			r = line(e, indent);
			return r ? r : put(e, "- []\n");
		}
		e->dashes++;
		return dump_list(e, path, t->elem, indent + 2, member);
	}
	default:
		r = line(e, indent);
		r = r ? r : put(e, "- ");
		r = r ? r : dump_scalar(e, path, t);
		return r ? r : put(e, "\n");
	}
}

static int dump_field(struct em *e, const char *path, const char *name, const struct ty *t,
		      int indent)
{
	int r = line(e, indent);
	r = r ? r : dp_buf_printf(e->out, "%s:", name);
	if (r)
		return r;
	switch (t->kind) {
	case K_FLAG:
		return put(e, " true\n");
	case K_SEQ:
		r = put(e, "\n");
		return r ? r : dump_seq_fields(e, path, t, indent + 2);
	case K_CHOICE: {
		char alt[64], sub[300];
		r = dp_asn1_read_choice(e->node, path, alt, sizeof(alt));
		if (r)
			return r;
		if (join(sub, sizeof(sub), path, alt) != DP_OK)
			return DP_ERR_TOO_LONG;
		r = put(e, "\n");
		for (size_t i = 0; i < t->n && r == DP_OK; i++)
			if (strcmp(t->f[i].name, alt) == 0)
				return dump_field(e, sub, alt, t->f[i].t, indent + 2);
		return r ? r : dp_err_set(DP_ERR_ASN1_VALUE, "%s: alternative %s", path, alt);
	}
	case K_SEQOF:
	case K_FILE: {
		size_t n;
		char sub[300];
		r = dp_asn1_count(e->node, path, &n);
		if (r)
			return r;
		if (n == 0)
			return put(e, " []\n");
		if (t == &T_SQN_LIST)
			return dump_sqn_init(e, path, n);
		r = put(e, "\n");
		if (t->kind == K_SEQOF)
			return r ? r : dump_list(e, path, t->elem, indent + 2, name);
		e->file_member = name;
		e->file_path = path;
		for (size_t i = 1; i <= n && r == DP_OK; i++) {
			snprintf(sub, sizeof(sub), "%s.?%zu", path, i);
			r = dump_file_item(e, sub, name, indent + 2);
		}
		e->file_member = NULL;
		e->file_path = NULL;
		return r;
	}
	case K_SERVICES: {
		char sub[256];
		bool first = true;
		r = put(e, " [");
		for (size_t i = 0; i < N(services) && r == DP_OK; i++) {
			r = join(sub, sizeof(sub), path, services[i]);
			if (r == DP_OK && dp_asn1_present(e->node, sub)) {
				r = dp_buf_printf(e->out, "%s%s", first ? "" : ", ", services[i]);
				first = false;
			}
		}
		return r ? r : put(e, "]\n");
	}
	default:
		if (t->kind == K_HEX) {
			r = dump_ef(e, path, name, indent);
			if (r != DP_ERR_NOT_FOUND)
				return r;
		}
		r = put(e, " ");
		r = r ? r : dump_scalar(e, path, t);
		return r ? r : put(e, "\n");
	}
}

int dp_pg_pe_dump(const uint8_t *der, size_t len, int indent, struct dp_buf *out)
{
	const char *alt;
	struct em e = { out, NULL, 0, NULL, NULL, NULL };
	int r = dp_asn1_decode_pe(der, len, &e.node, &alt);
	if (r)
		return r;
	const struct ty *t = pe_type(alt);
	if (t == NULL) {
		r = dp_err_set(DP_ERR_NOT_FOUND, "%s is not modelled", alt);
		goto out;
	}
	e.pe_alt = alt;
	e.dashes = 1;
	r = line(&e, indent + 2);
	r = r ? r : dp_buf_printf(out, "%s:\n", alt);
	r = r ? r : dump_seq_fields(&e, alt, t, indent + 4);
out:
	dp_asn1_free(&e.node);
	return r;
}
