/* One error enum and one message table for the whole project.
 * Every function that can fail returns int: 0 (DP_OK) or a negative enum dp_err value,
 * and writes its results through out-parameters. A thread-local detail string carries the
 * specifics of the last failure (which field, which offset, what OpenSSL said). */
#ifndef DP_BASE_ERROR_H
#define DP_BASE_ERROR_H

#include <stddef.h>

#define DP_WUR __attribute__((warn_unused_result))
#define DP_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* X(name, message). Append new codes at the end of their group; the numeric values are
 * not part of any wire format (the wire status is derived in smdp's status table). */
#define DP_ERROR_LIST(X) \
	X(DP_ERR_NOMEM, "out of memory") \
	X(DP_ERR_INVAL, "invalid argument") \
	X(DP_ERR_TOO_LONG, "data exceeds the allowed maximum") \
	X(DP_ERR_NOT_FOUND, "not found") \
	X(DP_ERR_IO, "input/output error") \
	X(DP_ERR_USAGE, "invalid command line") \
	X(DP_ERR_CONFIG, "invalid configuration") \
	X(DP_ERR_NOT_IMPLEMENTED, "not implemented yet") \
	X(DP_ERR_INTERNAL, "internal error") \
	X(DP_ERR_EMPTY, "empty input") \
	/* text codecs */ \
	X(DP_ERR_HEX_CHAR, "invalid hex digit") \
	X(DP_ERR_HEX_LENGTH, "hex string has an odd number of digits") \
	X(DP_ERR_B64_CHAR, "invalid base64 character") \
	X(DP_ERR_B64_PADDING, "invalid base64 padding") \
	X(DP_ERR_B64_LENGTH, "base64 length is not a multiple of 4") \
	/* DER / BER-TLV */ \
	X(DP_ERR_DER_TRUNCATED, "DER truncated") \
	X(DP_ERR_DER_LENGTH, "DER length runs past the end of the data") \
	X(DP_ERR_DER_INDEFINITE, "DER indefinite length is not allowed") \
	X(DP_ERR_DER_NONMINIMAL, "DER length or tag is not minimally encoded") \
	X(DP_ERR_DER_TAG, "DER tag is malformed") \
	X(DP_ERR_DER_UNEXPECTED_TAG, "DER tag is not the expected one") \
	X(DP_ERR_DER_TRAILING, "DER has trailing bytes after the value") \
	X(DP_ERR_DER_DEPTH, "DER nesting is too deep") \
	/* ASN.1 schema layer */ \
	X(DP_ERR_ASN1_SCHEMA, "ASN.1 definitions could not be loaded") \
	X(DP_ERR_ASN1_TYPE, "unknown ASN.1 type") \
	X(DP_ERR_ASN1_DECODE, "DER does not match the ASN.1 type") \
	X(DP_ERR_ASN1_ENCODE, "ASN.1 value could not be encoded") \
	X(DP_ERR_ASN1_FIELD, "ASN.1 field not present") \
	X(DP_ERR_ASN1_VALUE, "ASN.1 field value invalid") \
	/* crypto */ \
	X(DP_ERR_CRYPTO, "cryptographic library failure") \
	X(DP_ERR_SIGNATURE, "signature does not verify") \
	/* pki crypto */ \
	X(DP_ERR_CERT_PARSE, "certificate, key or CRL could not be parsed") \
	X(DP_ERR_CERT_SIGNATURE, "certificate signature does not verify") \
	X(DP_ERR_CERT_EXPIRED, "certificate has expired") \
	X(DP_ERR_CERT_NOT_YET_VALID, "certificate is not yet valid") \
	X(DP_ERR_CERT_KEY_USAGE, "certificate key usage does not fit its role") \
	X(DP_ERR_CERT_POLICY, "certificate policy OID does not fit its role") \
	X(DP_ERR_CERT_EXTENSION, "certificate extension missing, malformed or not allowed") \
	X(DP_ERR_CERT_UNKNOWN_CI, "certificate chain does not lead to a known CI") \
	X(DP_ERR_CERT_ISSUER, "certificate was not issued by the presented issuer") \
	X(DP_ERR_CERT_EID, "EID in the certificate is malformed") \
	X(DP_ERR_CERT_EID_RANGE, "EID is outside the EUM's permitted range") \
	X(DP_ERR_CERT_REVOKED, "certificate is revoked") \
	X(DP_ERR_CERT_CRL, "CRL is invalid or not from a known issuer") \
	X(DP_ERR_CERT_CURVE, "unsupported key type or curve") \
	X(DP_ERR_KEY_MISMATCH, "private key does not match the certificate") \
	X(DP_ERR_CI_NONE_COMMON, "no CI in common with the eUICC") \
	X(DP_ERR_CI_NOT_VERIFIABLE, "the eUICC cannot verify any of our SM-DP+ certificates") \
	X(DP_ERR_ECDSA_FORMAT, "ECDSA signature encoding is malformed") \
	X(DP_ERR_EC_POINT, "public key point is malformed or not on the curve") \
	X(DP_ERR_SCP03T_STRUCTURE, "SCP03t segment is malformed") \
	X(DP_ERR_SCP03T_MAC, "SCP03t MAC does not verify") \
	/* profilegen */ \
	X(DP_ERR_PG_YAML, "profile YAML is not well-formed") \
	X(DP_ERR_PG_SCHEMA, "profile YAML does not match the schema") \
	X(DP_ERR_PG_VALUE, "profile field value is invalid") \
	X(DP_ERR_PG_LUHN, "ICCID Luhn check digit is wrong") \
	X(DP_ERR_PG_DUPLICATE, "profile YAML has a duplicate entry") \
	X(DP_ERR_PG_PACKAGE, "profile package is malformed") \
	X(DP_ERR_PG_CHECK, "profile package fails a validation rule") \
	/* test eUICC */ \
	X(DP_ERR_EUICC_FUNCTION, "ES10 function not supported by the test eUICC") \
	X(DP_ERR_EUICC_REQUEST, "ES10 request is malformed") \
	X(DP_ERR_EUICC_IDENTITY, "test eUICC identity is incomplete or inconsistent") \
	X(DP_ERR_EUICC_STATE, "test eUICC state file is malformed") \
	/* smdp: order book and server */ \
	X(DP_ERR_DB, "database failure") \
	X(DP_ERR_DB_EXISTS, "already in the database") \
	X(DP_ERR_DB_STATE, "profile state does not allow this") \
	X(DP_ERR_DB_CONFLICT, "record was changed by another request") \
	X(DP_ERR_ACTIVATION_CODE, "activation code is malformed") \
	X(DP_ERR_BATCH_CSV, "operator CSV file is malformed") \
	X(DP_ERR_BATCH_MISMATCH, "profile batch and its operator CSV file do not match") \
	/* test LPA */ \
	X(DP_ERR_LPA_HTTP, "ES9+ transport failure") \
	X(DP_ERR_LPA_RESPONSE, "ES9+ response is malformed") \
	X(DP_ERR_LPA_REFUSED, "the SM-DP+ refused the request") \
	X(DP_ERR_LPA_EUICC, "the eUICC refused the request")

enum dp_err {
	DP_OK = 0,
	DP_ERR_FIRST_ = -1000,
#define DP_X_ENUM(name, msg) name,
	DP_ERROR_LIST(DP_X_ENUM)
#undef DP_X_ENUM
	DP_ERR_LAST_
};

/* Message for a code; never NULL ("unknown error" for values outside the enum). */
const char *dp_strerror(int err);
/* Symbolic name of a code, e.g. "DP_ERR_HEX_CHAR"; "DP_OK" for 0. */
const char *dp_errname(int err);

/* Record `err` with a printf-style detail for this thread and return `err`, so that a
 * failure reads `return dp_err_set(DP_ERR_HEX_CHAR, "offset %zu", i);`. */
int dp_err_set(int err, const char *fmt, ...) DP_PRINTF(2, 3);
/* Detail of the last dp_err_set() in this thread ("" when none). */
const char *dp_err_detail(void);
/* Forget the detail. */
void dp_err_clear(void);
/* Prefix the current detail with more context ("EUICCInfo2: " + detail); returns err. */
int dp_err_wrap(int err, const char *fmt, ...) DP_PRINTF(2, 3);

#endif
