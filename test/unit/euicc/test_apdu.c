/* Test eUICC APDU layer (test/euicc/apdu.c): SELECT, STORE DATA chaining, GET RESPONSE,
 * MANAGE CHANNEL and the status words of malformed commands, against a fake ES10 layer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pki/base/codec.h"
#include "test/euicc/apdu.h"
#include "test/support/support.h"

/* The fake ES10 layer: records the assembled command, answers resp_len pattern bytes. */
struct fake {
	struct dp_buf last;
	unsigned calls;
	size_t resp_len;
	int fail;
};

static int fake_es10(void *ctx, const uint8_t *cmd, size_t len, struct dp_buf *resp)
{
	struct fake *f = ctx;
	f->calls++;
	dp_buf_reset(&f->last);
	if (dp_buf_append(&f->last, cmd, len) != DP_OK)
		return DP_ERR_NOMEM;
	if (f->fail != 0)
		return f->fail;
	for (size_t i = 0; i < f->resp_len; i++)
		if (dp_buf_append_byte(resp, (uint8_t)(i * 7 + 1)) != DP_OK)
			return DP_ERR_NOMEM;
	return DP_OK;
}

struct fixture {
	struct fake fake;
	struct dp_euicc_card *card;
	struct dp_buf data; /* response data of the last tx (status word stripped) */
};

static int setup(void **state)
{
	struct fixture *fx = test_calloc(1, sizeof(*fx));
	dp_buf_init(&fx->fake.last, DP_EUICC_APDU_CMD_MAX);
	dp_buf_init(&fx->data, DP_EUICC_APDU_RESP_MAX);
	assert_int_equal(dp_euicc_card_new(fake_es10, &fx->fake, &fx->card), DP_OK);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	dp_euicc_card_free(fx->card);
	dp_buf_deinit(&fx->fake.last);
	dp_buf_deinit(&fx->data);
	test_free(fx);
	return 0;
}

/* Sends raw bytes; returns the status word, leaves the data in fx->data. */
static unsigned tx_raw(struct fixture *fx, const uint8_t *apdu, size_t len)
{
	struct dp_buf resp;
	unsigned sw = 0;
	dp_buf_init(&resp, DP_EUICC_APDU_RESP_MAX + 2);
	assert_int_equal(dp_euicc_apdu(fx->card, apdu, len, &resp, &sw), DP_OK);
	assert_true(resp.len >= 2);
	assert_int_equal(sw, (unsigned)(resp.data[resp.len - 2] << 8 | resp.data[resp.len - 1]));
	dp_buf_reset(&fx->data);
	assert_int_equal(dp_buf_append(&fx->data, resp.data, resp.len - 2), DP_OK);
	dp_buf_deinit(&resp);
	return sw;
}

static unsigned tx(struct fixture *fx, const char *hex)
{
	struct dp_buf apdu; /* dp_test_hex initialises it */
	dp_test_hex(hex, &apdu);
	unsigned sw = tx_raw(fx, apdu.data, apdu.len);
	dp_buf_deinit(&apdu);
	return sw;
}

/* STORE DATA block: CLA 80|ch, E2, p1, block, Lc, data. */
static unsigned store_data(struct fixture *fx, unsigned ch, uint8_t p1, uint8_t block,
			   const uint8_t *data, size_t len)
{
	uint8_t apdu[5 + 255];
	assert_true(len <= 255);
	apdu[0] = (uint8_t)(0x80 | ch);
	apdu[1] = 0xE2;
	apdu[2] = p1;
	apdu[3] = block;
	apdu[4] = (uint8_t)len;
	memcpy(apdu + 5, data, len);
	return tx_raw(fx, apdu, 5 + len);
}

#define SELECT_ISDR "00A4040010 A0000005591010FFFFFFFF8900000100"

static void select_isdr(void **state)
{
	struct fixture *fx = *state;
	assert_int_equal(tx(fx, SELECT_ISDR), 0x9000);
	/* FCI 6F { 84 AID } */
	assert_int_equal(fx->data.len, 2 + 2 + 16);
	assert_int_equal(fx->data.data[0], 0x6F);
	assert_memory_equal(fx->data.data + 4, dp_euicc_isdr_aid, 16);
	assert_int_equal(tx(fx, "00A4040C10 A0000005591010FFFFFFFF8900000100"), 0x9000);
	assert_int_equal(fx->data.len, 0);
	/* other AIDs, P1 other than by-name */
	assert_int_equal(tx(fx, "00A4040010 A0000005591010FFFFFFFF8900000200"), 0x6A82);
	assert_int_equal(tx(fx, "00A4040007 A0000000871002"), 0x6A82);
	assert_int_equal(tx(fx, "00A4000002 3F00"), 0x6A86);
	/* the failed SELECT deselected the ISD-R */
	assert_int_equal(tx(fx, "80E2910003 BF2E00"), 0x6985);
}

static void store_data_needs_isdr(void **state)
{
	struct fixture *fx = *state;
	assert_int_equal(tx(fx, "80E2910003 BF2E00"), 0x6985);
	assert_int_equal(fx->fake.calls, 0);
	assert_int_equal(tx(fx, SELECT_ISDR), 0x9000);
	assert_int_equal(tx(fx, "80E2910003 BF2E00"), 0x9000);
	assert_int_equal(fx->fake.calls, 1);
	assert_int_equal(fx->fake.last.len, 3);
}

/* A 3000-byte command in 120-byte blocks (lpac's default): 25 blocks, P2 0..24. */
static void chaining_many_blocks(void **state)
{
	struct fixture *fx = *state;
	uint8_t cmd[3000];
	for (size_t i = 0; i < sizeof(cmd); i++)
		cmd[i] = (uint8_t)(i ^ (i >> 8));
	fx->fake.resp_len = 40;
	assert_int_equal(tx(fx, SELECT_ISDR), 0x9000);
	size_t off = 0;
	unsigned block = 0;
	while (off < sizeof(cmd)) {
		size_t n = sizeof(cmd) - off < 120 ? sizeof(cmd) - off : 120;
		bool last = off + n == sizeof(cmd);
		unsigned sw = store_data(fx, 0, last ? 0x91 : 0x11, (uint8_t)block, cmd + off, n);
		assert_int_equal(sw, 0x9000);
		if (!last) {
			assert_int_equal(fx->data.len, 0);
			assert_int_equal(fx->fake.calls, 0);
		}
		off += n;
		block++;
	}
	assert_int_equal(block, 25);
	assert_int_equal(fx->fake.calls, 1);
	assert_bytes_equal(fx->fake.last.data, fx->fake.last.len, cmd, sizeof(cmd));
	assert_int_equal(fx->data.len, 40);
	/* the next command starts again at block 0, with maximal 255-byte blocks */
	assert_int_equal(store_data(fx, 0, 0x11, 0, cmd, 255), 0x9000);
	assert_int_equal(store_data(fx, 0, 0x91, 1, cmd + 255, 255), 0x9000);
	assert_int_equal(fx->fake.calls, 2);
	assert_bytes_equal(fx->fake.last.data, fx->fake.last.len, cmd, 510);
}

static void chaining_block_order(void **state)
{
	struct fixture *fx = *state;
	const uint8_t d[4] = { 1, 2, 3, 4 };
	assert_int_equal(tx(fx, SELECT_ISDR), 0x9000);
	/* a first block that is not 00 */
	assert_int_equal(store_data(fx, 0, 0x91, 1, d, 4), 0x6A86);
	/* a skipped block */
	assert_int_equal(store_data(fx, 0, 0x11, 0, d, 4), 0x9000);
	assert_int_equal(store_data(fx, 0, 0x11, 2, d, 4), 0x6A86);
	/* ... which abandons the command: block 1 no longer fits */
	assert_int_equal(store_data(fx, 0, 0x91, 1, d, 4), 0x6A86);
	/* a repeated block */
	assert_int_equal(store_data(fx, 0, 0x11, 0, d, 4), 0x9000);
	assert_int_equal(store_data(fx, 0, 0x11, 1, d, 4), 0x9000);
	assert_int_equal(store_data(fx, 0, 0x11, 1, d, 4), 0x6A86);
	/* another command in the middle of a chain abandons it */
	assert_int_equal(store_data(fx, 0, 0x11, 0, d, 4), 0x9000);
	assert_int_equal(tx(fx, SELECT_ISDR), 0x9000);
	assert_int_equal(store_data(fx, 0, 0x91, 1, d, 4), 0x6A86);
	/* a block 00 restarts: the earlier partial data is gone */
	assert_int_equal(store_data(fx, 0, 0x11, 0, d, 4), 0x9000);
	assert_int_equal(store_data(fx, 0, 0x11, 0, d + 1, 3), 0x9000);
	assert_int_equal(store_data(fx, 0, 0x91, 1, d, 1), 0x9000);
	assert_int_equal(fx->fake.calls, 1);
	assert_int_equal(fx->fake.last.len, 4);
	assert_memory_equal(fx->fake.last.data, "\x02\x03\x04\x01", 4);
	/* wrong P1 */
	assert_int_equal(store_data(fx, 0, 0x00, 0, d, 4), 0x6A86);
	assert_int_equal(store_data(fx, 0, 0x90, 0, d, 4), 0x6A86);
	assert_int_equal(fx->fake.calls, 1);
}

/* A 1000-byte response, 256 bytes per piece: 61 00 while 256 or more wait, then 61 E8. */
static void get_response_long(void **state)
{
	struct fixture *fx = *state;
	struct dp_buf all;
	dp_buf_init(&all, 2000);
	fx->fake.resp_len = 1000;
	assert_int_equal(tx(fx, SELECT_ISDR), 0x9000);
	assert_int_equal(tx(fx, "80E2910003 BF2200"), 0x6100);
	assert_int_equal(fx->data.len, 256);
	assert_int_equal(dp_buf_append(&all, fx->data.data, fx->data.len), DP_OK);
	assert_int_equal(tx(fx, "00C0000000"), 0x6100); /* 488 left */
	assert_int_equal(dp_buf_append(&all, fx->data.data, fx->data.len), DP_OK);
	assert_int_equal(tx(fx, "80C0000000"), 0x61E8); /* lpac's CLA 80; 232 left */
	assert_int_equal(dp_buf_append(&all, fx->data.data, fx->data.len), DP_OK);
	assert_int_equal(tx(fx, "00C00000E8"), 0x9000);
	assert_int_equal(fx->data.len, 0xE8);
	assert_int_equal(dp_buf_append(&all, fx->data.data, fx->data.len), DP_OK);
	assert_int_equal(all.len, 1000);
	for (size_t i = 0; i < all.len; i++)
		assert_int_equal(all.data[i], (uint8_t)(i * 7 + 1));
	/* nothing left */
	assert_int_equal(tx(fx, "00C0000000"), 0x6985);
	assert_int_equal(fx->data.len, 0);
	dp_buf_deinit(&all);
}

static void get_response_le_and_chunk(void **state)
{
	struct fixture *fx = *state;
	fx->fake.resp_len = 100;
	assert_int_equal(tx(fx, SELECT_ISDR), 0x9000);
	/* Le on STORE DATA limits the first piece */
	assert_int_equal(tx(fx, "80E2910003 BF2200 10"), 0x6154);
	assert_int_equal(fx->data.len, 0x10);
	assert_int_equal(tx(fx, "00C0000020"), 0x6134);
	assert_int_equal(fx->data.len, 0x20);
	assert_int_equal(fx->data.data[0], (uint8_t)(0x10 * 7 + 1));
	/* Le larger than what waits: the rest */
	assert_int_equal(tx(fx, "00C00000FF"), 0x9000);
	assert_int_equal(fx->data.len, 0x34);
	/* a card with 64-byte pieces */
	assert_int_equal(dp_euicc_card_set_chunk(fx->card, 64), DP_OK);
	assert_int_equal(tx(fx, "80E2910003 BF2200"), 0x6124);
	assert_int_equal(fx->data.len, 64);
	/* any other command forfeits the pending response */
	assert_int_equal(tx(fx, "00A4040C10 A0000005591010FFFFFFFF8900000100"), 0x9000);
	assert_int_equal(tx(fx, "00C0000000"), 0x6985);
	assert_int_equal(dp_euicc_card_set_chunk(fx->card, 0), DP_ERR_INVAL);
	assert_int_equal(dp_euicc_card_set_chunk(fx->card, 257), DP_ERR_INVAL);
	/* GET RESPONSE with wrong P1P2 or a body */
	assert_int_equal(tx(fx, "80E2910003 BF2200"), 0x6124);
	assert_int_equal(tx(fx, "00C0010000"), 0x6A86);
	assert_int_equal(tx(fx, "80E2910003 BF2200"), 0x6124);
	assert_int_equal(tx(fx, "00C0000001 00"), 0x6700);
}

static void malformed(void **state)
{
	struct fixture *fx = *state;
	assert_int_equal(tx_raw(fx, NULL, 0), 0x6700);
	assert_int_equal(tx(fx, "00A404"), 0x6700);
	assert_int_equal(tx(fx, SELECT_ISDR), 0x9000);
	/* Lc that does not match the data: short, long, extended-length marker */
	assert_int_equal(tx(fx, "80E2910010 BF2E00"), 0x6700);
	assert_int_equal(tx(fx, "80E2910002 BF2E00 0000"), 0x6700);
	assert_int_equal(tx(fx, "80E2910000 0003 BF2E00"), 0x6700);
	/* STORE DATA without data (case 1 and case 2) */
	assert_int_equal(tx(fx, "80E29100"), 0x6700);
	assert_int_equal(tx(fx, "80E2910000"), 0x6700);
	/* unknown INS, also under the proprietary class */
	assert_int_equal(tx(fx, "00B0000000"), 0x6D00);
	assert_int_equal(tx(fx, "80CA9F7F00"), 0x6D00);
	/* unknown or unsupported CLA: GSM class, secure messaging, FF, proprietary bits */
	assert_int_equal(tx(fx, "A0A4000002 3F00"), 0x6E00);
	assert_int_equal(tx(fx, "84E2910003 BF2E00"), 0x6E00);
	assert_int_equal(tx(fx, "FFE2910003 BF2E00"), 0x6E00);
	assert_int_equal(tx(fx, "90E2910003 BF2E00"), 0x6E00);
	/* INS under the wrong class */
	assert_int_equal(tx(fx, "00E2910003 BF2E00"), 0x6E00);
	assert_int_equal(tx(fx, "80A4040010 A0000005591010FFFFFFFF8900000100"), 0x6E00);
	assert_int_equal(tx(fx, "8070000001"), 0x6E00);
	/* channels 4..19 (further interindustry class) and closed channels */
	assert_int_equal(tx(fx, "40A4040010 A0000005591010FFFFFFFF8900000100"), 0x6881);
	assert_int_equal(tx(fx, "C0E2910003 BF2E00"), 0x6881);
	assert_int_equal(tx(fx, "81E2910003 BF2E00"), 0x6881);
	assert_int_equal(tx(fx, "03A4040010 A0000005591010FFFFFFFF8900000100"), 0x6881);
	/* the ES10 layer refuses the DER: 6A80 and no data */
	fx->fake.fail = DP_ERR_EUICC_REQUEST;
	fx->fake.resp_len = 10;
	assert_int_equal(tx(fx, "80E2910003 BF2E00"), 0x6A80);
	assert_int_equal(fx->data.len, 0);
	assert_int_equal(fx->fake.calls, 1);
}

static void manage_channel(void **state)
{
	struct fixture *fx = *state;
	fx->fake.resp_len = 3;
	/* the card picks 1, 2, 3, then has none left */
	for (unsigned n = 1; n <= 3; n++) {
		assert_int_equal(tx(fx, "0070000001"), 0x9000);
		assert_int_equal(fx->data.len, 1);
		assert_int_equal(fx->data.data[0], n);
	}
	assert_int_equal(tx(fx, "0070000001"), 0x6A81);
	/* each channel has its own selection */
	assert_int_equal(tx(fx, "02A4040C10 A0000005591010FFFFFFFF8900000100"), 0x9000);
	assert_int_equal(tx(fx, "82E2910003 BF2E00"), 0x9000);
	assert_int_equal(fx->data.len, 3);
	assert_int_equal(tx(fx, "80E2910003 BF2E00"), 0x6985);
	assert_int_equal(tx(fx, "83E2910003 BF2E00"), 0x6985);
	/* interleaved chains on two channels stay apart */
	assert_int_equal(tx(fx, SELECT_ISDR), 0x9000);
	assert_int_equal(tx(fx, "80E2110002 BF2E"), 0x9000);
	assert_int_equal(tx(fx, "82E2110002 BF20"), 0x9000);
	assert_int_equal(tx(fx, "80E2910101 00"), 0x9000);
	assert_memory_equal(fx->fake.last.data, "\xBF\x2E\x00", 3);
	assert_int_equal(tx(fx, "82E2910101 00"), 0x9000);
	assert_memory_equal(fx->fake.last.data, "\xBF\x20\x00", 3);
	/* close 2 (from channel 0 or from itself), then it is gone */
	assert_int_equal(tx(fx, "00708002"), 0x9000);
	assert_int_equal(tx(fx, "82E2910003 BF2E00"), 0x6881);
	assert_int_equal(tx(fx, "00708002"), 0x6881);
	assert_int_equal(tx(fx, "00708000"), 0x6A86); /* the basic channel stays */
	assert_int_equal(tx(fx, "00708004"), 0x6A86);
	assert_int_equal(tx(fx, "00704000"), 0x6A86);
	/* open a named channel: no data back; a named open channel is refused */
	assert_int_equal(tx(fx, "00700002"), 0x9000);
	assert_int_equal(fx->data.len, 0);
	assert_int_equal(tx(fx, "00700002"), 0x6A86);
	assert_int_equal(tx(fx, "00700004"), 0x6881);
	/* a reopened channel starts with nothing selected */
	assert_int_equal(tx(fx, "82E2910003 BF2E00"), 0x6985);
	/* reset: only the basic channel, nothing selected */
	dp_euicc_card_reset(fx->card);
	assert_int_equal(tx(fx, "01A4040C10 A0000005591010FFFFFFFF8900000100"), 0x6881);
	assert_int_equal(tx(fx, "80E2910003 BF2E00"), 0x6985);
	assert_int_equal(tx(fx, "0070000001"), 0x9000);
	assert_int_equal(fx->data.data[0], 1);
}

static void card_new_args(void **state)
{
	struct dp_euicc_card *card = (void *)1;
	(void)state;
	assert_int_equal(dp_euicc_card_new(NULL, NULL, &card), DP_ERR_INVAL);
	assert_null(card);
	dp_euicc_card_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(select_isdr, setup, teardown),
		cmocka_unit_test_setup_teardown(store_data_needs_isdr, setup, teardown),
		cmocka_unit_test_setup_teardown(chaining_many_blocks, setup, teardown),
		cmocka_unit_test_setup_teardown(chaining_block_order, setup, teardown),
		cmocka_unit_test_setup_teardown(get_response_long, setup, teardown),
		cmocka_unit_test_setup_teardown(get_response_le_and_chunk, setup, teardown),
		cmocka_unit_test_setup_teardown(malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(manage_channel, setup, teardown),
		cmocka_unit_test(card_new_args),
	};
	return cmocka_run_group_tests_name("euicc-apdu", tests, NULL, NULL);
}
