/* Logging: each line is written whole with a single write(2), alone or with the lines of
 * its thread's batch, so that lines from several threads never interleave. */
#include "pki/base/log.h"

#include "pki/base/codec.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 4096
#define HEX_SHOWN 64
#define BATCH_BYTES 16384 /* a download's request logs about 1 KB */

static const char *const group_names[] = {
#define DP_X_GROUP(id, name) name,
	DP_LOG_GROUP_LIST(DP_X_GROUP)
#undef DP_X_GROUP
};

static const char *const level_names[] = { "error", "warn", "info", "debug" };

static _Atomic int levels[DP_LOG_GROUP_COUNT] = {
	[0 ... DP_LOG_GROUP_COUNT - 1] = DP_LOG_INFO,
};
static _Atomic bool as_json;
static _Atomic int out_fd = STDERR_FILENO;

/* this thread's batch: lines not written yet, and how deep begin() calls nest */
static _Thread_local struct {
	size_t len;
	unsigned depth;
	char data[BATCH_BYTES];
} batch;

static int parse_level(const char *s, size_t n, enum dp_log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strlen(level_names[i]) == n && strncasecmp(s, level_names[i], n) == 0) {
			*out = (enum dp_log_level)i;
			return DP_OK;
		}
	}
	return dp_err_set(DP_ERR_CONFIG, "unknown log level '%.*s' (error, warn, info, debug)",
			  (int)n, s);
}

static int parse_group(const char *s, size_t n, enum dp_log_group *out)
{
	for (int i = 0; i < DP_LOG_GROUP_COUNT; i++) {
		if (strlen(group_names[i]) == n && strncasecmp(s, group_names[i], n) == 0) {
			*out = (enum dp_log_group)i;
			return DP_OK;
		}
	}
	return dp_err_set(DP_ERR_CONFIG, "unknown log group '%.*s'", (int)n, s);
}

int dp_log_configure(const char *spec)
{
	int next[DP_LOG_GROUP_COUNT];
	for (int i = 0; i < DP_LOG_GROUP_COUNT; i++)
		next[i] = atomic_load(&levels[i]);

	const char *p = spec;
	while (*p != '\0') {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', n);
		enum dp_log_level l = DP_LOG_INFO;
		int r;
		if (eq == NULL) {
			r = parse_level(p, n, &l);
			if (r)
				return r;
			for (int i = 0; i < DP_LOG_GROUP_COUNT; i++)
				next[i] = (int)l;
		} else {
			enum dp_log_group g = DP_LOG_MAIN;
			r = parse_group(p, (size_t)(eq - p), &g);
			if (r)
				return r;
			r = parse_level(eq + 1, n - (size_t)(eq - p) - 1, &l);
			if (r)
				return r;
			next[g] = (int)l;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	for (int i = 0; i < DP_LOG_GROUP_COUNT; i++)
		atomic_store(&levels[i], next[i]);
	return DP_OK;
}

void dp_log_set_level(enum dp_log_group g, enum dp_log_level l)
{
	if ((int)g >= 0 && g < DP_LOG_GROUP_COUNT)
		atomic_store(&levels[g], (int)l);
}

void dp_log_set_fd(int fd)
{
	atomic_store(&out_fd, fd);
}

void dp_log_set_json(bool json)
{
	atomic_store(&as_json, json);
}

bool dp_log_enabled(enum dp_log_group g, enum dp_log_level l)
{
	if ((int)g < 0 || g >= DP_LOG_GROUP_COUNT)
		return false;
	return (int)l <= atomic_load(&levels[g]);
}

/* Appends s to buf as the inside of a JSON string. */
static size_t json_escape(char *buf, size_t cap, size_t pos, const char *s)
{
	static const char hexd[] = "0123456789abcdef";
	for (; *s != '\0' && pos + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			buf[pos++] = '\\';
			buf[pos++] = (char)c;
		} else if (c == '\n') {
			buf[pos++] = '\\';
			buf[pos++] = 'n';
		} else if (c < 0x20) {
			memcpy(buf + pos, "\\u00", 4);
			buf[pos + 4] = hexd[c >> 4];
			buf[pos + 5] = hexd[c & 15];
			pos += 6;
		} else {
			buf[pos++] = (char)c;
		}
	}
	return pos;
}

static void write_all(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(atomic_load(&out_fd), p, n);
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void batch_flush(void)
{
	write_all(batch.data, batch.len);
	batch.len = 0;
}

/* One finished line (or lines): held in the batch when hold and a batch is open, else
 * written now after whatever the batch holds, in one write when they fit together. */
static void emit(const char *p, size_t n, bool hold)
{
	if (batch.depth == 0 && batch.len == 0) {
		write_all(p, n);
		return;
	}
	if (batch.len + n > sizeof(batch.data))
		batch_flush();
	if (n > sizeof(batch.data)) {
		write_all(p, n);
		return;
	}
	memcpy(batch.data + batch.len, p, n);
	batch.len += n;
	if (!hold || batch.depth == 0)
		batch_flush();
}

void dp_log_batch_begin(void)
{
	batch.depth++;
}

void dp_log_batch_end(void)
{
	if (batch.depth > 0 && --batch.depth == 0 && batch.len > 0)
		batch_flush();
}

char *dp_log_batch_take(size_t *len)
{
	*len = 0;
	if (batch.len == 0)
		return NULL;
	char *lines = malloc(batch.len);
	if (lines == NULL) {
		batch_flush();
		return NULL;
	}
	memcpy(lines, batch.data, batch.len);
	*len = batch.len;
	batch.len = 0;
	return lines;
}

void dp_log_batch_put(char *lines, size_t len)
{
	if (lines == NULL)
		return;
	emit(lines, len, true);
	free(lines);
}

void dp_log(enum dp_log_group g, enum dp_log_level l, const char *fmt, ...)
{
	if (!dp_log_enabled(g, l))
		return;

	char msg[LINE_MAX_BYTES];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char when[48];
	size_t wl = strftime(when, sizeof(when) - 6, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + wl, sizeof(when) - wl, ".%03dZ", (int)(ts.tv_nsec / 1000000) % 1000);

	char line[LINE_MAX_BYTES + 256];
	size_t pos;
	if (atomic_load(&as_json)) {
		pos = (size_t)snprintf(line, sizeof(line),
				       "{\"ts\":\"%s\",\"level\":\"%s\",\"group\":\"%s\",\"msg\":\"",
				       when, level_names[l], group_names[g]);
		pos = json_escape(line, sizeof(line) - 3, pos, msg);
		memcpy(line + pos, "\"}\n", 3);
		pos += 3;
	} else {
		int n = snprintf(line, sizeof(line), "%s %-5s %s: %s\n", when, level_names[l],
				 group_names[g], msg);
		pos = n < 0 ? 0 : (size_t)n;
		if (pos >= sizeof(line)) {
			pos = sizeof(line) - 1;
			line[pos - 1] = '\n';
		}
	}
	emit(line, pos, l >= DP_LOG_INFO);
}

void dp_log_hex(enum dp_log_group g, enum dp_log_level l, const char *label,
		const uint8_t *data, size_t len)
{
	if (!dp_log_enabled(g, l))
		return;
	char hex[HEX_SHOWN * 2 + 1];
	size_t shown = len < HEX_SHOWN ? len : HEX_SHOWN;
	if (dp_hex_encode(data, shown, true, hex, sizeof(hex)) != DP_OK)
		hex[0] = '\0';
	dp_log(g, l, "%s (%zu bytes): %s%s", label, len, hex, shown < len ? "..." : "");
}
