/* Fuzz target: the test eUICC's APDU layer (test/euicc/apdu.c). The input is a sequence of
 * APDUs, each prefixed by one length byte; behind STORE DATA sits an echo ES10 layer that
 * answers three times the command (so long responses and GET RESPONSE are reached) and
 * refuses commands starting with 00. Every answer must end in a status word. */
#include <stdint.h>
#include <stdlib.h>

#include "test/euicc/apdu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int echo_es10(void *ctx, const uint8_t *cmd, size_t len, struct dp_buf *resp)
{
	(void)ctx;
	if (len > 0 && cmd[0] == 0)
		return DP_ERR_EUICC_REQUEST;
	for (int i = 0; i < 3; i++)
		if (dp_buf_append(resp, cmd, len) != DP_OK)
			return DP_ERR_NOMEM;
	return DP_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_euicc_card *card = NULL;
	struct dp_buf resp;
	if (dp_euicc_card_new(echo_es10, NULL, &card) != DP_OK)
		abort();
	/* first byte: response chunk size */
	if (size > 0) {
		(void)!dp_euicc_card_set_chunk(card, data[0]);
		data++, size--;
	}
	dp_buf_init(&resp, DP_EUICC_APDU_RESP_MAX + 2);
	while (size > 0) {
		size_t n = data[0];
		data++, size--;
		if (n > size)
			n = size;
		unsigned sw = 0;
		dp_buf_reset(&resp);
		if (dp_euicc_apdu(card, data, n, &resp, &sw) != DP_OK || resp.len < 2 ||
		    sw != (unsigned)(resp.data[resp.len - 2] << 8 | resp.data[resp.len - 1]) ||
		    resp.len > 256 + 2)
			abort();
		data += n, size -= n;
	}
	dp_buf_deinit(&resp);
	dp_euicc_card_free(card);
	return 0;
}
