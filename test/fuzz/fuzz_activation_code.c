/* Fuzz target: the activation code parser (SGP.22 4.1); what parses builds back to the
 * same text (with the "LPA:" prefix) and parses again to the same fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smdp/activation.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_activation_code ac, back;
	char text[DP_AC_MAX + 8];
	if (dp_activation_code_parse_n((const char *)data, size, &ac) != DP_OK)
		return 0;
	if (dp_activation_code_build(&ac, text, sizeof(text)) != DP_OK)
		abort();
	if (dp_activation_code_parse(text, &back) != DP_OK || strcmp(ac.address, back.address) ||
	    strcmp(ac.matching_id, back.matching_id) || strcmp(ac.oid, back.oid) ||
	    ac.cc_required != back.cc_required)
		abort();
	/* the text is the input, give or take the prefix and an empty OID before no flag */
	const char *in = (const char *)data;
	size_t off = size >= 4 && memcmp(in, "LPA:", 4) == 0 ? 0 : 4;
	if (strlen(text) - off != size || memcmp(text + off, in, size) != 0)
		abort();
	return 0;
}
