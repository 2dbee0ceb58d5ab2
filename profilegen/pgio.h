/* Small file helpers shared by the library and the CLI. Internal. */
#ifndef DP_PROFILEGEN_PGIO_H
#define DP_PROFILEGEN_PGIO_H

#include <stddef.h>

#include "pki/base/buf.h"

/* Appends a whole file (at most max bytes) to out. */
int dp_pg_read_file(const char *path, size_t max, struct dp_buf *out) DP_WUR;

#endif
