/* TUAK TOPc from TOP (3GPP TS 35.231 6.1): TOPc = the first 256 bits of Keccak-f[1600]^n
 * applied to IN = TOP | INSTANCE | ALGONAME | 0^192 | K | padding, n = the numberOfKeccak
 * of the SAIP AlgoParameter. (TOP is not xored in afterwards: the known-answer sets of
 * 3GPP TS 35.232/35.233, test/unit/profilegen/test_tuak.c, give exactly OUT.) Keccak-f[1600]
 * as FIPS 202 3.2 defines it, on 25 lanes read little-endian from the 200 state bytes. */
#include <stdint.h>
#include <string.h>

#include "pki/base/secure.h"
#include "profilegen/profilegen.h"

/* FIPS 202 3.2.5: the 24 round constants of iota. */
static const uint64_t round_constants[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808AULL, 0x8000000080008000ULL,
    0x000000000000808BULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008AULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000AULL,
    0x000000008000808BULL, 0x800000000000008BULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800AULL, 0x800000008000000AULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL};

static uint64_t rotl(uint64_t x, unsigned n)
{
	return n ? (x << n) | (x >> (64 - n)) : x;
}

/* One Keccak-f[1600] permutation; lane (x, y) is a[x + 5 y]. */
static void keccak_f1600(uint64_t a[25])
{
	/* rho offsets r[x + 5 y] (FIPS 202 table 2) */
	static const unsigned rho[25] = {0,  1,	 62, 28, 27, 36, 44, 6,	 55, 20, 3,  10, 43,
					 25, 39, 41, 45, 15, 21, 8,  18, 2,  61, 56, 14};
	uint64_t c[5], d[5], b[25];
	for (int round = 0; round < 24; round++) {
		/* theta: each bit xor the parities of two neighbouring columns */
		for (int x = 0; x < 5; x++)
			c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
		for (int x = 0; x < 5; x++)
			d[x] = c[(x + 4) % 5] ^ rotl(c[(x + 1) % 5], 1);
		for (int i = 0; i < 25; i++)
			a[i] ^= d[i % 5];
		/* rho and pi: B[y, 2x + 3y] = rot(A[x, y], r[x, y]) */
		for (int x = 0; x < 5; x++)
			for (int y = 0; y < 5; y++)
				b[y + 5 * ((2 * x + 3 * y) % 5)] =
				    rotl(a[x + 5 * y], rho[x + 5 * y]);
		/* chi: A = B xor (not B[x+1] and B[x+2]) along rows */
		for (int y = 0; y < 5; y++)
			for (int x = 0; x < 5; x++)
				a[x + 5 * y] = b[x + 5 * y] ^
					       (~b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]);
		/* iota */
		a[0] ^= round_constants[round];
	}
}

/* TS 35.231 numbers the bits of a value from its least significant end and puts IN[0] at
 * the first state bit; a byte string therefore enters the state in reversed byte order
 * (its last byte first), each byte as it is, when the state is read little-endian. */
static void put_reversed(uint8_t *state, size_t at, const uint8_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		state[at + i] = v[n - 1 - i];
}

int dp_pg_topc_from_top(const uint8_t *k, size_t klen, const uint8_t top[32], unsigned iterations,
			uint8_t topc[32])
{
	static const uint8_t algoname[7] = {'T', 'U', 'A', 'K', '1', '.', '0'};
	uint8_t s[200];
	uint64_t a[25];
	if ((klen != 16 && klen != 32) || iterations < 1 || iterations > 255)
		return dp_err_set(DP_ERR_PG_VALUE,
				  "TUAK needs a 16- or 32-byte K and 1..255 Keccak iterations");
	memset(s, 0, sizeof(s));
	put_reversed(s, 0, top, 32);	  /* IN[0..255] = TOP */
	s[32] = klen == 32 ? 0x01 : 0x00; /* IN[256..263] = INSTANCE: key length */
	put_reversed(s, 33, algoname, 7); /* IN[264..319] = ALGONAME */
	put_reversed(s, 64, k, klen);	  /* IN[512..767] = K (128-bit K: upper half 0) */
	s[96] = 0x1F;			  /* IN[768..771] = 1111 (Keccak suffix), IN[772] = 1 */
	s[135] = 0x80;			  /* IN[1087] = 1 */
	for (int i = 0; i < 25; i++) {
		a[i] = 0;
		for (int j = 7; j >= 0; j--)
			a[i] = a[i] << 8 | s[8 * i + j];
	}
	for (unsigned n = 0; n < iterations; n++)
		keccak_f1600(a);
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 8; j++)
			s[8 * i + j] = (uint8_t)(a[i] >> (8 * j));
	/* TOPc = OUT[0..255], read back in the same order as TOP went in */
	for (int i = 0; i < 32; i++)
		topc[i] = s[31 - i];
	dp_wipe(s, sizeof(s));
	dp_wipe(a, sizeof(a));
	return DP_OK;
}
