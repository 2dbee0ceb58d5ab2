/* Fuzz target: tolerant decoding of the RSP objects an SM-DP+ receives from outside.
 * The first input byte picks the type; a value that decodes must re-encode. */
#include <stdint.h>
#include <stdlib.h>

#include "pki/asn1/asn1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const types[] = {
	"RSPDefinitions.EUICCInfo1",
	"RSPDefinitions.EUICCInfo2",
	"RSPDefinitions.AuthenticateServerResponse",
	"RSPDefinitions.PrepareDownloadResponse",
	"RSPDefinitions.PendingNotification",
	"RSPDefinitions.CancelSessionResponse",
	"RSPDefinitions.DeviceInfo",
	"RSPDefinitions.RemoteProfileProvisioningRequest",
	"RSPDefinitions.BoundProfilePackage",
	"RSPDefinitions.StoreMetadataRequest",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || dp_asn1_init() != DP_OK)
		return 0;
	const char *type = types[data[0] % (sizeof(types) / sizeof(types[0]))];
	asn1_node node = NULL;
	if (dp_asn1_decode(type, data + 1, size - 1, &node) == DP_OK) {
		struct dp_buf out;
		dp_buf_init(&out, size * 2 + 64);
		if (dp_asn1_encode(node, "", &out) != DP_OK)
			abort();
		dp_buf_deinit(&out);
		dp_asn1_free(&node);
	}
	return 0;
}
