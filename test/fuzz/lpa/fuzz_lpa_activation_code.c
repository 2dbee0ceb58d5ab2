/* Fuzz target: the activation code parser (test/lpa/activation_code.h). Every accepted
 * code must satisfy the parser's own rules. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test/lpa/activation_code.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[512];
	struct dp_lpa_activation_code ac;
	if (size >= sizeof(text))
		size = sizeof(text) - 1;
	memcpy(text, data, size);
	text[size] = '\0';
	if (dp_lpa_activation_code_parse(text, &ac) != DP_OK)
		return 0;
	/* accepted: address and matching ID non-empty, no '$' anywhere */
	if (ac.address[0] == '\0' || ac.matching_id[0] == '\0' || strchr(ac.address, '$') ||
	    strchr(ac.matching_id, '$') || strchr(ac.oid, '$'))
		abort();
	return 0;
}
