/* Fuzz target: the operator CSV reader of the batch import (smdp/import.h,
 * dp_import_csv_parse; format in config/profiles/README.md). What it accepts holds only
 * well-formed rows in line order with unique ICCIDs; what it refuses leaves nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "profilegen/profilegen.h"
#include "smdp/import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int digits(const char *s, size_t lo, size_t hi)
{
	size_t n = strlen(s);
	if (n < lo || n > hi)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_import_csv c;
	dp_import_csv_init(&c);
	int r = dp_import_csv_parse("fuzz.csv", (const char *)data, size, &c);
	if (r != DP_OK) {
		/* refused: a coded error with its detail, no rows left behind */
		if (r != DP_ERR_BATCH_CSV || c.rows != NULL || c.n != 0 || dp_err_detail()[0] == 0)
			abort();
		return 0;
	}
	if (c.n == 0)
		abort();
	for (size_t i = 0; i < c.n; i++) {
		const struct dp_import_csv_row *w = &c.rows[i];
		size_t n = strlen(w->iccid);
		if (!digits(w->iccid, 19, 20) ||
		    dp_pg_luhn_digit(w->iccid, n - 1) != w->iccid[n - 1] || !digits(w->imsi, 6, 15))
			abort();
		if ((w->ki_len != 0 && w->ki_len != 16 && w->ki_len != 32) ||
		    (w->opc_len != 0 && w->opc_len != 16 && w->opc_len != 32))
			abort();
		if (w->line < 2 || (i > 0 && w->line <= c.rows[i - 1].line))
			abort();
		for (size_t k = 0; k < i; k++)
			if (strcmp(c.rows[k].iccid, w->iccid) == 0 ||
			    strcmp(c.rows[k].imsi, w->imsi) == 0)
				abort();
	}
	dp_import_csv_deinit(&c);
	return 0;
}
