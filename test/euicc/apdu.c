/* The test eUICC's APDU layer: SELECT, STORE DATA chaining, GET RESPONSE, MANAGE CHANNEL.
 * SGP.22 5.7 and download-path.md 7.1; status words per ISO 7816-4 (see apdu.h). */
#include "test/euicc/apdu.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

const uint8_t dp_euicc_isdr_aid[16] = { 0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF,
					0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x01, 0x00 };

enum {
	INS_SELECT = 0xA4,
	INS_STORE_DATA = 0xE2,
	INS_GET_RESPONSE = 0xC0,
	INS_MANAGE_CHANNEL = 0x70,
	P1_MORE_BLOCKS = 0x11,
	P1_LAST_BLOCK = 0x91,
};

struct channel {
	bool open;
	bool isdr;           /* ISD-R selected on this channel */
	bool chaining;       /* a STORE DATA command is being assembled */
	unsigned next_block; /* expected P2 of the next STORE DATA block */
	struct dp_buf cmd;   /* the assembled ES10 command */
	struct dp_buf out;   /* the ES10 response */
	size_t out_pos;      /* bytes of out already sent */
};

struct dp_euicc_card {
	dp_euicc_es10_fn es10;
	void *ctx;
	size_t chunk;
	struct channel ch[DP_EUICC_CHANNELS];
};

/* A parsed short APDU. */
struct apdu {
	uint8_t cla, ins, p1, p2;
	const uint8_t *data;
	size_t lc;
	size_t le;    /* 0 when absent; 1..256 (00 means 256) when present */
	bool has_le;
};

static void channel_clear(struct channel *c)
{
	c->isdr = false;
	c->chaining = false;
	c->next_block = 0;
	dp_buf_reset(&c->cmd);
	dp_buf_reset(&c->out);
	c->out_pos = 0;
}

static void drop_pending(struct channel *c)
{
	dp_buf_reset(&c->out);
	c->out_pos = 0;
}

int dp_euicc_card_new(dp_euicc_es10_fn es10, void *ctx, struct dp_euicc_card **out)
{
	*out = NULL;
	if (es10 == NULL)
		return dp_err_set(DP_ERR_INVAL, "card without an ES10 handler");
	struct dp_euicc_card *card = calloc(1, sizeof(*card));
	if (card == NULL)
		return DP_ERR_NOMEM;
	card->es10 = es10;
	card->ctx = ctx;
	card->chunk = 256;
	for (size_t i = 0; i < DP_EUICC_CHANNELS; i++) {
		/* ES10 data carries session keys' inputs and profile data: wipe on release. */
		dp_buf_init_secret(&card->ch[i].cmd, DP_EUICC_APDU_CMD_MAX);
		dp_buf_init_secret(&card->ch[i].out, DP_EUICC_APDU_RESP_MAX);
	}
	card->ch[0].open = true;
	*out = card;
	return DP_OK;
}

void dp_euicc_card_free(struct dp_euicc_card *card)
{
	if (card == NULL)
		return;
	for (size_t i = 0; i < DP_EUICC_CHANNELS; i++) {
		dp_buf_deinit(&card->ch[i].cmd);
		dp_buf_deinit(&card->ch[i].out);
	}
	free(card);
}

void dp_euicc_card_reset(struct dp_euicc_card *card)
{
	for (size_t i = 0; i < DP_EUICC_CHANNELS; i++) {
		channel_clear(&card->ch[i]);
		card->ch[i].open = i == 0;
	}
}

int dp_euicc_card_set_chunk(struct dp_euicc_card *card, size_t chunk)
{
	if (chunk < 1 || chunk > 256)
		return dp_err_set(DP_ERR_INVAL, "chunk %zu outside 1..256", chunk);
	card->chunk = chunk;
	return DP_OK;
}

/* ISO 7816-4 5.1 short cases: 4 (case 1), 5 (case 2: Le), 5+Lc (case 3), 5+Lc+1 (case 4).
 * Lc = 00 would announce extended length, which the card does not support. */
static bool parse_apdu(const uint8_t *p, size_t n, struct apdu *a)
{
	memset(a, 0, sizeof(*a));
	if (n < 4)
		return false;
	a->cla = p[0];
	a->ins = p[1];
	a->p1 = p[2];
	a->p2 = p[3];
	if (n == 4)
		return true;
	if (n == 5) {
		a->has_le = true;
		a->le = p[4] == 0 ? 256 : p[4];
		return true;
	}
	size_t lc = p[4];
	if (lc == 0)
		return false;
	if (n == 5 + lc) {
		a->data = p + 5;
		a->lc = lc;
		return true;
	}
	if (n == 6 + lc) {
		a->data = p + 5;
		a->lc = lc;
		a->has_le = true;
		a->le = p[5 + lc] == 0 ? 256 : p[5 + lc];
		return true;
	}
	return false;
}

/* Class byte: b8..b5 = 0000 (interindustry) or 1000 (proprietary, GlobalPlatform), no
 * secure messaging, channel in b2..b1. CLA 40..7F / C0..FF are further interindustry
 * channels 4..19: valid ISO, but this card does not support them. */
static unsigned parse_cla(uint8_t cla, bool *proprietary, unsigned *channel)
{
	if ((cla & 0x40) != 0 && cla != 0xFF)
		return DP_EUICC_SW_CHANNEL;
	if ((cla & 0x70) != 0 || cla == 0xFF)
		return DP_EUICC_SW_CLA;
	if ((cla & 0x0C) != 0) /* secure messaging indication */
		return DP_EUICC_SW_CLA;
	*proprietary = (cla & 0x80) != 0;
	*channel = cla & 0x03;
	return DP_EUICC_SW_OK;
}

static int put_sw(struct dp_buf *resp, unsigned sw, unsigned *sw_out)
{
	uint8_t b[2] = { (uint8_t)(sw >> 8), (uint8_t)sw };
	if (sw_out != NULL)
		*sw_out = sw;
	return dp_buf_append(resp, b, 2);
}

/* Sends the next piece of the channel's pending response (at most `limit` bytes) with
 * 61xx while more remains, 9000 when it is the last piece. */
static int send_pending(struct dp_euicc_card *card, struct channel *c, size_t limit,
			struct dp_buf *resp, unsigned *sw)
{
	size_t left = c->out.len - c->out_pos;
	size_t n = left < limit ? left : limit;
	if (n > card->chunk)
		n = card->chunk;
	int r = dp_buf_append(resp, c->out.data + c->out_pos, n);
	if (r != DP_OK)
		return r;
	c->out_pos += n;
	left -= n;
	if (left == 0) {
		drop_pending(c);
		return put_sw(resp, DP_EUICC_SW_OK, sw);
	}
	return put_sw(resp, DP_EUICC_SW_MORE | (left >= 256 ? 0 : (unsigned)left), sw);
}

static int do_select(struct dp_euicc_card *card, struct channel *c, const struct apdu *a,
		     struct dp_buf *resp, unsigned *sw)
{
	if (a->p1 != 0x04 || (a->p2 != 0x00 && a->p2 != 0x0C))
		return put_sw(resp, DP_EUICC_SW_WRONG_P1P2, sw);
	if (a->lc == 0)
		return put_sw(resp, DP_EUICC_SW_WRONG_LENGTH, sw);
	if (a->lc != sizeof(dp_euicc_isdr_aid) ||
	    memcmp(a->data, dp_euicc_isdr_aid, sizeof(dp_euicc_isdr_aid)) != 0) {
		c->isdr = false;
		return put_sw(resp, DP_EUICC_SW_NOT_FOUND, sw);
	}
	c->isdr = true;
	if (a->p2 == 0x0C)
		return put_sw(resp, DP_EUICC_SW_OK, sw);
	/* FCI: 6F { 84 AID } — what LPAs accept; they do not read it. */
	dp_buf_reset(&c->out);
	c->out_pos = 0;
	int r = dp_buf_append_byte(&c->out, 0x6F);
	if (r == DP_OK)
		r = dp_buf_append_byte(&c->out, 2 + sizeof(dp_euicc_isdr_aid));
	if (r == DP_OK)
		r = dp_buf_append_byte(&c->out, 0x84);
	if (r == DP_OK)
		r = dp_buf_append_byte(&c->out, sizeof(dp_euicc_isdr_aid));
	if (r == DP_OK)
		r = dp_buf_append(&c->out, dp_euicc_isdr_aid, sizeof(dp_euicc_isdr_aid));
	if (r != DP_OK)
		return put_sw(resp, DP_EUICC_SW_INTERNAL, sw);
	return send_pending(card, c, a->has_le ? a->le : 256, resp, sw);
}

static int do_store_data(struct dp_euicc_card *card, struct channel *c, const struct apdu *a,
			 struct dp_buf *resp, unsigned *sw)
{
	if (!c->isdr)
		return put_sw(resp, DP_EUICC_SW_CONDITIONS, sw);
	if (a->p1 != P1_MORE_BLOCKS && a->p1 != P1_LAST_BLOCK) {
		channel_clear(c);
		c->isdr = true;
		return put_sw(resp, DP_EUICC_SW_WRONG_P1P2, sw);
	}
	if (a->lc == 0) {
		c->chaining = false;
		dp_buf_reset(&c->cmd);
		return put_sw(resp, DP_EUICC_SW_WRONG_LENGTH, sw);
	}
	/* Block numbers run from 00 within one command; a block 00 starts a new command. */
	if (a->p2 == 0) {
		dp_buf_reset(&c->cmd);
		c->next_block = 0;
	}
	if (a->p2 != c->next_block || (a->p2 != 0 && !c->chaining)) {
		c->chaining = false;
		c->next_block = 0;
		dp_buf_reset(&c->cmd);
		return put_sw(resp, DP_EUICC_SW_WRONG_P1P2, sw);
	}
	if (dp_buf_append(&c->cmd, a->data, a->lc) != DP_OK) {
		c->chaining = false;
		c->next_block = 0;
		dp_buf_reset(&c->cmd);
		return put_sw(resp, DP_EUICC_SW_NO_MEMORY, sw);
	}
	if (a->p1 == P1_MORE_BLOCKS) {
		/* 256 blocks of at most 255 bytes: P2 cannot go past FF. */
		c->chaining = a->p2 < 0xFF;
		c->next_block = a->p2 + 1u;
		if (!c->chaining) {
			dp_buf_reset(&c->cmd);
			return put_sw(resp, DP_EUICC_SW_WRONG_P1P2, sw);
		}
		return put_sw(resp, DP_EUICC_SW_OK, sw);
	}
	c->chaining = false;
	c->next_block = 0;
	drop_pending(c);
	int r = card->es10(card->ctx, c->cmd.data, c->cmd.len, &c->out);
	dp_buf_reset(&c->cmd);
	if (r != DP_OK) {
		drop_pending(c);
		return put_sw(resp, r == DP_ERR_NOMEM ? DP_EUICC_SW_INTERNAL : DP_EUICC_SW_WRONG_DATA,
			      sw);
	}
	if (c->out.len == 0)
		return put_sw(resp, DP_EUICC_SW_OK, sw);
	return send_pending(card, c, a->has_le ? a->le : 256, resp, sw);
}

static int do_get_response(struct dp_euicc_card *card, struct channel *c, const struct apdu *a,
			   struct dp_buf *resp, unsigned *sw)
{
	if (a->p1 != 0 || a->p2 != 0)
		return put_sw(resp, DP_EUICC_SW_WRONG_P1P2, sw);
	if (a->lc != 0)
		return put_sw(resp, DP_EUICC_SW_WRONG_LENGTH, sw);
	if (c->out.len == c->out_pos)
		return put_sw(resp, DP_EUICC_SW_CONDITIONS, sw);
	return send_pending(card, c, a->has_le ? a->le : 256, resp, sw);
}

static int do_manage_channel(struct dp_euicc_card *card, const struct apdu *a,
			     struct dp_buf *resp, unsigned *sw)
{
	if (a->lc != 0)
		return put_sw(resp, DP_EUICC_SW_WRONG_LENGTH, sw);
	if (a->p1 == 0x80) { /* close channel P2 */
		if (a->p2 == 0 || a->p2 >= DP_EUICC_CHANNELS)
			return put_sw(resp, DP_EUICC_SW_WRONG_P1P2, sw);
		if (!card->ch[a->p2].open)
			return put_sw(resp, DP_EUICC_SW_CHANNEL, sw);
		channel_clear(&card->ch[a->p2]);
		card->ch[a->p2].open = false;
		return put_sw(resp, DP_EUICC_SW_OK, sw);
	}
	if (a->p1 != 0x00)
		return put_sw(resp, DP_EUICC_SW_WRONG_P1P2, sw);
	unsigned n = a->p2;
	if (n == 0) { /* the card chooses */
		for (n = 1; n < DP_EUICC_CHANNELS && card->ch[n].open; n++)
			;
		if (n == DP_EUICC_CHANNELS)
			return put_sw(resp, DP_EUICC_SW_FUNC_NOT_SUPPORTED, sw);
	} else if (n >= DP_EUICC_CHANNELS) {
		return put_sw(resp, DP_EUICC_SW_CHANNEL, sw);
	} else if (card->ch[n].open) {
		return put_sw(resp, DP_EUICC_SW_WRONG_P1P2, sw);
	}
	channel_clear(&card->ch[n]);
	card->ch[n].open = true;
	if (a->p2 != 0)
		return put_sw(resp, DP_EUICC_SW_OK, sw);
	int r = dp_buf_append_byte(resp, (uint8_t)n);
	return r != DP_OK ? r : put_sw(resp, DP_EUICC_SW_OK, sw);
}

int dp_euicc_apdu(struct dp_euicc_card *card, const uint8_t *cmd, size_t len,
		  struct dp_buf *resp, unsigned *sw)
{
	struct apdu a;
	if (!parse_apdu(cmd, len, &a))
		return put_sw(resp, DP_EUICC_SW_WRONG_LENGTH, sw);
	bool proprietary = false;
	unsigned chan = 0;
	unsigned s = parse_cla(a.cla, &proprietary, &chan);
	if (s != DP_EUICC_SW_OK)
		return put_sw(resp, s, sw);
	struct channel *c = &card->ch[chan];
	if (!c->open)
		return put_sw(resp, DP_EUICC_SW_CHANNEL, sw);
	/* Anything but GET RESPONSE forfeits a pending response; anything but STORE DATA
	 * abandons a command being assembled (ISO 7816-4 command chaining rules). */
	if (a.ins != INS_GET_RESPONSE)
		drop_pending(c);
	if (a.ins != INS_STORE_DATA && c->chaining) {
		c->chaining = false;
		c->next_block = 0;
		dp_buf_reset(&c->cmd);
	}
	switch (a.ins) {
	case INS_SELECT:
		if (proprietary)
			return put_sw(resp, DP_EUICC_SW_CLA, sw);
		return do_select(card, c, &a, resp, sw);
	case INS_STORE_DATA:
		if (!proprietary)
			return put_sw(resp, DP_EUICC_SW_CLA, sw);
		return do_store_data(card, c, &a, resp, sw);
	case INS_GET_RESPONSE:
		return do_get_response(card, c, &a, resp, sw);
	case INS_MANAGE_CHANNEL:
		if (proprietary)
			return put_sw(resp, DP_EUICC_SW_CLA, sw);
		return do_manage_channel(card, &a, resp, sw);
	default:
		return put_sw(resp, DP_EUICC_SW_INS, sw);
	}
}
