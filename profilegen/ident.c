/* Identifier encodings: ICCID (ITU-T E.118 Luhn; SAIP header vs EF.ICCID, TS 102 221
 * 13.2), IMSI and ACC (3GPP TS 31.102 4.2.2, 4.2.15), PIN values (TS 102 221 9.5.2),
 * OPc (3GPP TS 35.206 4.1). */
#include <string.h>

#include <openssl/evp.h>

#include "pki/base/secure.h"
#include "profilegen/profilegen.h"

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

char dp_pg_luhn_digit(const char *digits, size_t n)
{
	unsigned sum = 0;
	/* double every second digit counting from the right of the payload */
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(digits[n - 1 - i] - '0');
		if (i % 2 == 0) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return (char)('0' + (10 - sum % 10) % 10);
}

int dp_pg_iccid_normalise(const char *in, char out[21])
{
	size_t n = strlen(in);
	if (n < 18 || n > 20 || !all_digits(in, n))
		return dp_err_set(DP_ERR_PG_VALUE,
				  "ICCID must be 18 to 20 digits (got %zu characters)", n);
	memcpy(out, in, n);
	out[n] = '\0';
	if (n == 18 || (n == 19 && dp_pg_luhn_digit(in, 18) != in[18])) {
		out[n] = dp_pg_luhn_digit(in, n);
		out[n + 1] = '\0';
		return DP_OK;
	}
	char want = dp_pg_luhn_digit(in, n - 1);
	if (want != in[n - 1])
		return dp_err_set(DP_ERR_PG_LUHN, "ICCID %s: Luhn digit is %c, expected %c", in,
				  in[n - 1], want);
	return DP_OK;
}

/* digits into nibbles, F-padded to 20; swapped: low nibble first */
static int bcd(const char *s, bool swapped, uint8_t out[10])
{
	size_t n = strlen(s);
	if (n < 1 || n > 20 || !all_digits(s, n))
		return dp_err_set(DP_ERR_PG_VALUE, "ICCID must be up to 20 digits");
	for (size_t i = 0; i < 10; i++) {
		unsigned a = 2 * i < n ? (unsigned)(s[2 * i] - '0') : 0xF;
		unsigned b = 2 * i + 1 < n ? (unsigned)(s[2 * i + 1] - '0') : 0xF;
		out[i] = swapped ? (uint8_t)(b << 4 | a) : (uint8_t)(a << 4 | b);
	}
	return DP_OK;
}

static int unbcd(const uint8_t in[10], bool swapped, char out[21])
{
	size_t n = 0;
	bool pad = false;
	for (size_t i = 0; i < 20; i++) {
		unsigned b = in[i / 2];
		unsigned nib = (i % 2 == 0) != swapped ? b >> 4 : b & 0xF;
		if (nib == 0xF) {
			pad = true;
			continue;
		}
		if (nib > 9 || pad)
			return dp_err_set(DP_ERR_PG_VALUE, "ICCID is not BCD with trailing F padding");
		out[n++] = (char)('0' + nib);
	}
	out[n] = '\0';
	if (n < 18)
		return dp_err_set(DP_ERR_PG_VALUE, "ICCID has %zu digits", n);
	return DP_OK;
}

int dp_pg_iccid_header(const char *iccid, uint8_t out[10])
{
	return bcd(iccid, false, out);
}

int dp_pg_iccid_ef(const char *iccid, uint8_t out[10])
{
	return bcd(iccid, true, out);
}

int dp_pg_iccid_from_header(const uint8_t in[10], char out[21])
{
	return unbcd(in, false, out);
}

int dp_pg_iccid_from_ef(const uint8_t in[10], char out[21])
{
	return unbcd(in, true, out);
}

int dp_pg_imsi_ef(const char *imsi, uint8_t out[9])
{
	size_t n = strlen(imsi);
	if (n < 6 || n > 15 || !all_digits(imsi, n))
		return dp_err_set(DP_ERR_PG_VALUE, "IMSI must be 6 to 15 digits (got %zu characters)",
				  n);
	uint8_t nib[16];
	nib[0] = n % 2 ? 0x9 : 0x1; /* type 001 (IMSI) + odd/even parity bit */
	for (size_t i = 0; i < n; i++)
		nib[i + 1] = (uint8_t)(imsi[i] - '0');
	size_t used = (n + 2) / 2;
	memset(out, 0xFF, 9);
	out[0] = (uint8_t)used;
	for (size_t i = 0; i < used; i++) {
		uint8_t lo = nib[2 * i];
		uint8_t hi = 2 * i + 1 <= n ? nib[2 * i + 1] : 0xF;
		out[1 + i] = (uint8_t)(hi << 4 | lo);
	}
	return DP_OK;
}

int dp_pg_imsi_from_ef(const uint8_t in[9], char out[16])
{
	size_t used = in[0];
	if (used < 4 || used > 8)
		return dp_err_set(DP_ERR_PG_VALUE, "EF.IMSI length byte %u", in[0]);
	unsigned par = in[1] & 0xF;
	if (par != 0x9 && par != 0x1)
		return dp_err_set(DP_ERR_PG_VALUE, "EF.IMSI parity nibble %X", par);
	size_t n = 0;
	for (size_t i = 1; i < 2 * used; i++) {
		unsigned b = in[1 + i / 2];
		unsigned nib = i % 2 ? b >> 4 : b & 0xF;
		if (nib == 0xF && i == 2 * used - 1)
			break;
		if (nib > 9)
			return dp_err_set(DP_ERR_PG_VALUE, "EF.IMSI digit %X", nib);
		out[n++] = (char)('0' + nib);
	}
	out[n] = '\0';
	if ((n % 2 == 1) != (par == 0x9))
		return dp_err_set(DP_ERR_PG_VALUE, "EF.IMSI parity nibble does not fit %zu digits", n);
	for (size_t i = 1 + used; i < 9; i++)
		if (in[i] != 0xFF)
			return dp_err_set(DP_ERR_PG_VALUE, "EF.IMSI not padded with FF");
	if (n < 6)
		return dp_err_set(DP_ERR_PG_VALUE, "EF.IMSI has %zu digits", n);
	return DP_OK;
}

void dp_pg_acc_from_imsi(const char *imsi, uint8_t out[2])
{
	size_t n = strlen(imsi);
	unsigned d = n ? (unsigned)(imsi[n - 1] - '0') % 10 : 0;
	unsigned v = 1u << d;
	out[0] = (uint8_t)(v >> 8);
	out[1] = (uint8_t)v;
}

int dp_pg_pin_encode(const char *pin, uint8_t out[8])
{
	size_t n = strlen(pin);
	if (n < 4 || n > 8 || !all_digits(pin, n))
		return dp_err_set(DP_ERR_PG_VALUE, "PIN/PUK/ADM must be 4 to 8 digits");
	memset(out, 0xFF, 8);
	memcpy(out, pin, n);
	return DP_OK;
}

int dp_pg_pin_decode(const uint8_t in[8], char out[9])
{
	size_t n = 0;
	while (n < 8 && in[n] >= '0' && in[n] <= '9')
		n++;
	for (size_t i = n; i < 8; i++)
		if (in[i] != 0xFF)
			return dp_err_set(DP_ERR_PG_VALUE, "PIN value is not digits padded with FF");
	if (n < 4)
		return dp_err_set(DP_ERR_PG_VALUE, "PIN value has %zu digits", n);
	memcpy(out, in, n);
	out[n] = '\0';
	return DP_OK;
}

int dp_pg_opc_from_op(const uint8_t k[16], const uint8_t op[16], uint8_t opc[16])
{
	int r = DP_ERR_CRYPTO;
	int len = 0;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	if (c == NULL)
		return dp_err_set(DP_ERR_NOMEM, "EVP_CIPHER_CTX_new");
	if (EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, k, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(c, 0) != 1 || EVP_EncryptUpdate(c, opc, &len, op, 16) != 1 ||
	    len != 16) {
		r = dp_err_set(DP_ERR_CRYPTO, "AES-128 for OPc");
		goto out;
	}
	for (int i = 0; i < 16; i++)
		opc[i] ^= op[i];
	r = DP_OK;
out:
	EVP_CIPHER_CTX_free(c);
	return r;
}

void dp_pg_personal_wipe(struct dp_pg_personal *p)
{
	dp_wipe(p, sizeof(*p));
}
