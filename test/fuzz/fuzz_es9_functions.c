/* Fuzz target: the five ES9+ handlers (SGP.22 5.6, 6.5.2; issue 6 item 3). The first input
 * byte b picks the function (b % 5, in the order of es9f_functions) and the form of the
 * rest: the whole JSON request body when (b / 5) % 2 == 0; else the DER of the function's
 * member, wrapped into a valid body for session (b / 10) % 3 (es9f_wrap), so that the
 * mutations reach the checks behind the JSON layer. Each input runs against a fresh copy
 * of an order book holding a session in each stage (es9_functions_fixture.h). Every input must get
 * a coded reply: the handler returns 0 and answers HTTP 200 with a JSON object whose
 * header.functionExecutionStatus is Executed-Success (with function data) or Failed (with
 * subjectCode and reasonCode and no other member), or 204 with no body for handleNotification.
 * Anything else aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "pki/base/log.h"
#include "test/fuzz/es9_functions_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct es9f F;
static int ready; /* 0 not yet, 1 set up, -1 failed */

static void teardown(void)
{
	es9f_teardown(&F);
}

static void check_reply(unsigned fn, unsigned status, const struct dp_buf *body)
{
	if (status == 204) {
		if (strcmp(es9f_functions[fn], "handleNotification") != 0 || body->len != 0)
			abort();
		return;
	}
	if (status != 200)
		abort();
	json_t *o = json_loadb((const char *)body->data, body->len, 0, NULL);
	if (!json_is_object(o))
		abort();
	json_t *st = json_object_get(json_object_get(o, "header"), "functionExecutionStatus");
	const char *s = json_string_value(json_object_get(st, "status"));
	if (s == NULL)
		abort();
	if (strcmp(s, "Failed") == 0) {
		json_t *cd = json_object_get(st, "statusCodeData");
		if (!json_is_string(json_object_get(cd, "subjectCode")) ||
		    !json_is_string(json_object_get(cd, "reasonCode")) || json_object_size(o) != 1)
			abort();
	} else if (strcmp(s, "Executed-Success") != 0 || json_object_size(o) < 2) {
		abort();
	}
	json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (ready == 0) {
		/* quiet: a refusal is logged per input */
		if (dp_log_configure("error") != DP_OK)
			abort();
		ready = es9f_setup(&F) == DP_OK ? 1 : -1;
		if (ready < 0) {
			fprintf(stderr, "fuzz-es9-functions: set-up failed: %s\n", dp_err_detail());
			abort();
		}
		atexit(teardown);
	}
	if (size < 1)
		return 0;
	unsigned fn = data[0] % 5, status = 0;
	struct dp_buf body, req;
	if (es9f_reset(&F) != DP_OK) {
		fprintf(stderr, "fuzz-es9-functions: reset failed: %s\n", dp_err_detail());
		abort();
	}
	dp_buf_init(&body, (size_t)16 << 20);
	dp_buf_init(&req, (size_t)16 << 20);
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	if ((data[0] / 5) % 2 == 1) {
		if (es9f_wrap(fn, (enum es9f_session)(data[0] / 10 % 3), p, n, &req) != DP_OK)
			abort();
		p = req.data ? req.data : (const uint8_t *)"";
		n = req.len;
	}
	if (es9f_call(&F, fn, p, n, &status, &body) != DP_OK)
		abort();
	check_reply(fn, status, &body);
	dp_buf_deinit(&req);
	dp_buf_deinit(&body);
	es9f_close_db(&F);
	return 0;
}
