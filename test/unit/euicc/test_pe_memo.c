/* The test eUICC's memo of profile elements (test/euicc/pe_memo.h, issue 8): off it decodes
 * every PE; on, it gives the decode's verdict for bytes it saw pass, compares bytes (not
 * just hashes), never remembers a refusal, stays within its ways, and is shared safely by
 * threads. The PEs are those of the TS.48 v2 SAIP 2.3 profile in ../shared/ts48. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "pki/asn1/asn1.h"
#include "pki/asn1/tlv.h"
#include "test/euicc/pe_memo.h"
#include "test/support/support.h"

#define PE_MAX 256

struct pes {
	struct dp_buf pkg;
	size_t n;
	const uint8_t *p[PE_MAX];
	size_t len[PE_MAX];
};

static struct pes pes;

static int setup(void **state)
{
	dp_test_read_file(dp_test_shared("ts48/TS48v2_SAIP2.3_NoBERTLV.der"), &pes.pkg);
	struct dp_cursor c = dp_cursor_make(pes.pkg.data, pes.pkg.len);
	while (!dp_cursor_done(&c)) {
		struct dp_tlv t;
		assert_int_equal(dp_tlv_next(&c, &t), DP_OK);
		assert_true(pes.n < PE_MAX);
		pes.p[pes.n] = t.raw;
		pes.len[pes.n++] = t.raw_len;
	}
	assert_true(pes.n > 8);
	return 0;
}

static int teardown(void **state)
{
	dp_euicc_pe_memo_enable(false);
	dp_euicc_pe_memo_test_collide(false);
	dp_buf_deinit(&pes.pkg);
	return 0;
}

static int decode(const uint8_t *d, size_t n)
{
	asn1_node node = NULL;
	const char *alt;
	int r = dp_asn1_decode_pe(d, n, &node, &alt);
	dp_asn1_free(&node);
	return r;
}

static struct dp_euicc_pe_memo_stats stats(void)
{
	struct dp_euicc_pe_memo_stats s;
	dp_euicc_pe_memo_stats(&s);
	return s;
}

/* A copy of PE i with its first byte (the PE choice tag) made unknown: refused. */
static uint8_t *broken(size_t i)
{
	uint8_t *b = test_malloc(pes.len[i]);
	memcpy(b, pes.p[i], pes.len[i]);
	b[0] = 0x9F;
	assert_int_not_equal(decode(b, pes.len[i]), DP_OK);
	return b;
}

static void test_off_decodes_everything(void **state)
{
	dp_euicc_pe_memo_enable(false);
	assert_false(dp_euicc_pe_memo_enabled());
	for (size_t i = 0; i < pes.n; i++)
		assert_int_equal(dp_euicc_pe_check(pes.p[i], pes.len[i]), DP_OK);
	uint8_t *b = broken(3);
	assert_int_equal(dp_euicc_pe_check(b, pes.len[3]), decode(b, pes.len[3]));
	test_free(b);
	struct dp_euicc_pe_memo_stats s = stats();
	assert_int_equal(s.hits + s.decodes + s.entries + s.bytes, 0);
}

static void test_on_remembers_passes(void **state)
{
	size_t bytes = 0;
	dp_euicc_pe_memo_enable(true);
	assert_true(dp_euicc_pe_memo_enabled());
	for (size_t i = 0; i < pes.n; i++) {
		assert_int_equal(dp_euicc_pe_check(pes.p[i], pes.len[i]), DP_OK);
		bytes += pes.len[i];
	}
	struct dp_euicc_pe_memo_stats s = stats();
	assert_int_equal(s.decodes, pes.n);
	assert_int_equal(s.hits, 0);
	/* every PE of the profile is small enough and the profile fits the memo */
	assert_int_equal(s.entries, pes.n);
	assert_int_equal(s.bytes, bytes);
	for (size_t i = 0; i < pes.n; i++)
		assert_int_equal(dp_euicc_pe_check(pes.p[i], pes.len[i]), DP_OK);
	s = stats();
	assert_int_equal(s.hits, pes.n);
	assert_int_equal(s.decodes, pes.n);

	/* a refusal is returned every time and never remembered */
	uint8_t *b = broken(2);
	int want = decode(b, pes.len[2]);
	for (int k = 0; k < 3; k++)
		assert_int_equal(dp_euicc_pe_check(b, pes.len[2]), want);
	s = stats();
	assert_int_equal(s.decodes, pes.n + 3);
	assert_int_equal(s.entries, pes.n);
	/* the bytes of a remembered PE, cut short: decoded (and refused), not a hit */
	assert_int_not_equal(dp_euicc_pe_check(pes.p[2], pes.len[2] - 1), DP_OK);
	test_free(b);

	/* too large to be remembered: always decoded */
	size_t big = DP_EUICC_PE_MEMO_ENTRY_MAX + 8;
	uint8_t *junk = test_calloc(1, big);
	assert_int_not_equal(dp_euicc_pe_check(junk, big), DP_OK);
	assert_int_not_equal(dp_euicc_pe_check(junk, big), DP_OK);
	assert_int_equal(stats().entries, pes.n);
	test_free(junk);

	/* off forgets everything; on again starts from nothing */
	dp_euicc_pe_memo_enable(false);
	s = stats();
	assert_int_equal(s.hits + s.decodes + s.entries + s.bytes, 0);
	dp_euicc_pe_memo_enable(true);
	assert_int_equal(dp_euicc_pe_check(pes.p[0], pes.len[0]), DP_OK);
	assert_int_equal(stats().decodes, 1);
	assert_int_equal(stats().hits, 0);
	dp_euicc_pe_memo_enable(false);
}

static void test_collisions_compare_bytes(void **state)
{
	/* every PE in the same set: only the byte comparison tells them apart */
	dp_euicc_pe_memo_test_collide(true);
	dp_euicc_pe_memo_enable(true);
	for (size_t i = 0; i < pes.n; i++)
		assert_int_equal(dp_euicc_pe_check(pes.p[i], pes.len[i]), DP_OK);
	struct dp_euicc_pe_memo_stats s = stats();
	assert_int_equal(s.entries, 4); /* the ways of one set */
	assert_int_equal(s.decodes, pes.n);
	/* the last four are held (least recently used replaced), the first is not */
	for (size_t i = pes.n - 4; i < pes.n; i++)
		assert_int_equal(dp_euicc_pe_check(pes.p[i], pes.len[i]), DP_OK);
	assert_int_equal(stats().hits, 4);
	assert_int_equal(dp_euicc_pe_check(pes.p[0], pes.len[0]), DP_OK);
	assert_int_equal(stats().hits, 4);
	assert_int_equal(stats().decodes, pes.n + 1);
	/* a refused PE of the same hash and length as a held one is still refused */
	size_t i = pes.n - 1;
	uint8_t *b = broken(i);
	assert_int_not_equal(dp_euicc_pe_check(b, pes.len[i]), DP_OK);
	test_free(b);
	dp_euicc_pe_memo_enable(false);
	dp_euicc_pe_memo_test_collide(false);
}

enum { THREADS = 4, ROUNDS = 40 };

static void *worker(void *arg)
{
	uintptr_t bad = 0;
	(void)arg;
	for (int r = 0; r < ROUNDS; r++)
		for (size_t i = 0; i < pes.n; i++)
			bad += dp_euicc_pe_check(pes.p[i], pes.len[i]) != DP_OK;
	return (void *)bad;
}

static void test_threads_share_the_memo(void **state)
{
	pthread_t t[THREADS];
	dp_euicc_pe_memo_enable(true);
	for (int k = 0; k < THREADS; k++)
		assert_int_equal(pthread_create(&t[k], NULL, worker, NULL), 0);
	for (int k = 0; k < THREADS; k++) {
		void *bad;
		assert_int_equal(pthread_join(t[k], &bad), 0);
		assert_int_equal((uintptr_t)bad, 0);
	}
	struct dp_euicc_pe_memo_stats s = stats();
	assert_int_equal(s.hits + s.decodes, (uint64_t)THREADS * ROUNDS * pes.n);
	/* each PE is decoded at most once per thread (when threads race on its first sight) */
	assert_true(s.decodes >= pes.n && s.decodes <= THREADS * pes.n);
	assert_int_equal(s.entries, pes.n);
	dp_euicc_pe_memo_enable(false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off_decodes_everything),
		cmocka_unit_test(test_on_remembers_passes),
		cmocka_unit_test(test_collisions_compare_bytes),
		cmocka_unit_test(test_threads_share_the_memo),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
