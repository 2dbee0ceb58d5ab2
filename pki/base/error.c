/* The project's error table and the per-thread failure detail. */
#include "pki/base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DP_ERR_DETAIL_MAX 512

static _Thread_local char detail[DP_ERR_DETAIL_MAX];

static const char *const messages[] = {
#define DP_X_MSG(name, msg) msg,
	DP_ERROR_LIST(DP_X_MSG)
#undef DP_X_MSG
};

static const char *const names[] = {
#define DP_X_NAME(name, msg) #name,
	DP_ERROR_LIST(DP_X_NAME)
#undef DP_X_NAME
};

static int index_of(int err)
{
	if (err <= DP_ERR_FIRST_ || err >= DP_ERR_LAST_)
		return -1;
	return err - DP_ERR_FIRST_ - 1;
}

const char *dp_strerror(int err)
{
	if (err == DP_OK)
		return "success";
	int i = index_of(err);
	return i < 0 ? "unknown error" : messages[i];
}

const char *dp_errname(int err)
{
	if (err == DP_OK)
		return "DP_OK";
	int i = index_of(err);
	return i < 0 ? "DP_ERR_UNKNOWN" : names[i];
}

int dp_err_set(int err, const char *fmt, ...)
{
	/* through a copy: an argument may be dp_err_detail() itself ("%s", dp_err_detail()) */
	char text[DP_ERR_DETAIL_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	memcpy(detail, text, sizeof(detail));
	return err;
}

int dp_err_wrap(int err, const char *fmt, ...)
{
	char prefix[DP_ERR_DETAIL_MAX];
	char joined[2 * DP_ERR_DETAIL_MAX + 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	if (detail[0] != '\0')
		snprintf(joined, sizeof(joined), "%s: %s", prefix, detail);
	else
		snprintf(joined, sizeof(joined), "%s", prefix);
	/* keep the first DP_ERR_DETAIL_MAX-1 characters */
	memcpy(detail, joined, sizeof(detail) - 1);
	detail[sizeof(detail) - 1] = '\0';
	return err;
}

const char *dp_err_detail(void)
{
	return detail;
}

void dp_err_clear(void)
{
	detail[0] = '\0';
}
