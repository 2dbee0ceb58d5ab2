/* Fuzz target: operator YAML -> profile package (profilegen build), no base file access. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "profilegen/profilegen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_pg_package p;
	if (size > 65536)
		return 0;
	for (size_t i = 0; i + 4 <= size; i++)
		if (memcmp(data + i, "base", 4) == 0)
			return 0; /* no file access from fuzz input */
	dp_pg_package_init(&p);
	(void)!dp_pg_build_yaml("fuzz.yaml", (const char *)data, size, NULL, &p);
	dp_pg_package_deinit(&p);
	return 0;
}
