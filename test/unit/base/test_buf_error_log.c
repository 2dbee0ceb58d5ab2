/* Bounded buffers, the error table, secret helpers and log configuration. */
#include "test/support/support.h"

#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pki/base/buf.h"
#include "pki/base/error.h"
#include "pki/base/log.h"
#include "pki/base/secure.h"

static void buf_limit(void **state)
{
	struct dp_buf b;
	dp_buf_init(&b, 10);
	assert_int_equal(dp_buf_append(&b, "0123456789", 10), 0);
	assert_int_equal(dp_buf_append_byte(&b, 'x'), DP_ERR_TOO_LONG);
	assert_int_equal(b.len, 10);
	assert_memory_equal(b.data, "0123456789", 10);
	const char *s;
	assert_int_equal(dp_buf_cstr(&b, &s), 0);
	assert_string_equal(s, "0123456789");
	dp_buf_reset(&b);
	assert_int_equal(dp_buf_printf(&b, "%d-%s", 42, "ab"), 0);
	assert_int_equal(b.len, 5);
	assert_int_equal(dp_buf_printf(&b, "%s", "123456"), DP_ERR_TOO_LONG);
	assert_int_equal(b.len, 5);
	size_t n;
	uint8_t *p = dp_buf_take(&b, &n);
	assert_int_equal(n, 5);
	assert_memory_equal(p, "42-ab", 5);
	free(p);
	assert_null(b.data);
	dp_buf_deinit(&b);
}

static void buf_growth(void **state)
{
	struct dp_buf b;
	dp_buf_init_secret(&b, 100000);
	for (int i = 0; i < 100000; i++)
		assert_int_equal(dp_buf_append_byte(&b, (uint8_t)i), 0);
	assert_int_equal(b.len, 100000);
	for (int i = 0; i < 100000; i++)
		assert_int_equal(b.data[i], (uint8_t)i);
	dp_buf_deinit(&b);
	dp_buf_deinit(&b); /* twice is harmless */
}

static void read_file(void **state)
{
	struct dp_buf b;
	char path[] = "/tmp/dp-buf-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "0123456789", 10), 10);
	close(fd);
	dp_buf_init(&b, 10);
	assert_int_equal(dp_buf_read_file(&b, path), 0);
	assert_int_equal(b.len, 10);
	assert_memory_equal(b.data, "0123456789", 10);
	dp_buf_reset(&b);
	b.max = 9;
	assert_int_equal(dp_buf_read_file(&b, path), DP_ERR_TOO_LONG);
	assert_non_null(strstr(dp_err_detail(), "larger than 9 bytes"));
	assert_int_equal(dp_buf_read_file(&b, "/nonexistent/file"), DP_ERR_IO);
	assert_non_null(strstr(dp_err_detail(), "/nonexistent/file"));
	unlink(path);
	dp_buf_deinit(&b);
}

static void cursor(void **state)
{
	const uint8_t d[] = { 1, 2, 3 };
	struct dp_cursor c = dp_cursor_make(d, 3);
	uint8_t v;
	const uint8_t *p;
	assert_int_equal(dp_cursor_get_u8(&c, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(dp_cursor_get_bytes(&c, 3, &p), DP_ERR_DER_TRUNCATED);
	assert_int_equal(dp_cursor_get_bytes(&c, 2, &p), 0);
	assert_true(dp_cursor_done(&c));
	assert_int_equal(dp_cursor_skip(&c, 1), DP_ERR_DER_TRUNCATED);
}

static void errors(void **state)
{
	assert_string_equal(dp_strerror(DP_OK), "success");
	assert_string_equal(dp_strerror(DP_ERR_HEX_CHAR), "invalid hex digit");
	assert_string_equal(dp_errname(DP_ERR_DER_INDEFINITE), "DP_ERR_DER_INDEFINITE");
	assert_string_equal(dp_strerror(12345), "unknown error");
	assert_string_equal(dp_strerror(DP_ERR_FIRST_), "unknown error");
	/* every code has a distinct name and a message */
	for (int e = DP_ERR_FIRST_ + 1; e < DP_ERR_LAST_; e++) {
		assert_true(strlen(dp_strerror(e)) > 3);
		for (int f = e + 1; f < DP_ERR_LAST_; f++)
			assert_string_not_equal(dp_errname(e), dp_errname(f));
	}
	assert_int_equal(dp_err_set(DP_ERR_IO, "file %s", "x"), DP_ERR_IO);
	assert_string_equal(dp_err_detail(), "file x");
	assert_int_equal(dp_err_wrap(DP_ERR_IO, "loading"), DP_ERR_IO);
	assert_string_equal(dp_err_detail(), "loading: file x");
	dp_err_clear();
	assert_string_equal(dp_err_detail(), "");
	char longer[2000];
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	dp_err_set(DP_ERR_IO, "%s", longer);
	dp_err_wrap(DP_ERR_IO, "%s", longer);
	assert_true(strlen(dp_err_detail()) < 1000);
}

static void secrets(void **state)
{
	uint8_t a[16], b[16];
	memset(a, 7, sizeof(a));
	memcpy(b, a, sizeof(b));
	assert_true(dp_ct_equal(a, b, 16));
	b[15] ^= 1;
	assert_false(dp_ct_equal(a, b, 16));
	dp_wipe(a, sizeof(a));
	for (size_t i = 0; i < sizeof(a); i++)
		assert_int_equal(a[i], 0);
	char *s = strdup("1234");
	dp_free_secret_str(s);
	dp_free_secret(NULL, 5);
}

static void log_config(void **state)
{
	assert_int_equal(dp_log_configure("warn"), 0);
	assert_false(dp_log_enabled(DP_LOG_ES9, DP_LOG_INFO));
	assert_true(dp_log_enabled(DP_LOG_ES9, DP_LOG_WARN));
	assert_int_equal(dp_log_configure("info,es9=debug,db=error"), 0);
	assert_true(dp_log_enabled(DP_LOG_ES9, DP_LOG_DEBUG));
	assert_false(dp_log_enabled(DP_LOG_DB, DP_LOG_WARN));
	assert_true(dp_log_enabled(DP_LOG_HTTP, DP_LOG_INFO));
	/* a bad spec changes nothing */
	assert_int_equal(dp_log_configure("es9=loud"), DP_ERR_CONFIG);
	assert_int_equal(dp_log_configure("nosuch=info"), DP_ERR_CONFIG);
	assert_true(dp_log_enabled(DP_LOG_ES9, DP_LOG_DEBUG));
}

static void log_output(void **state)
{
	int fds[2];
	char got[8192];
	assert_int_equal(pipe(fds), 0);
	dp_log_set_fd(fds[1]);
	assert_int_equal(dp_log_configure("info"), 0);
	dp_log_set_json(true);
	dp_log_info(DP_LOG_ES9, "json line with \"quotes\" and\nnewline");
	dp_log_debug(DP_LOG_ES9, "not shown");
	dp_log_set_json(false);
	const uint8_t bytes[100] = { 0xAB, 0xCD };
	dp_log_hex(DP_LOG_DB, DP_LOG_WARN, "capped", bytes, sizeof(bytes));
	dp_log_set_fd(2);
	close(fds[1]);
	ssize_t n = read(fds[0], got, sizeof(got) - 1);
	close(fds[0]);
	assert_true(n > 0);
	got[n] = '\0';
	assert_non_null(strstr(got, "\"level\":\"info\",\"group\":\"es9\","
				    "\"msg\":\"json line with \\\"quotes\\\" and\\nnewline\"}\n"));
	assert_null(strstr(got, "not shown"));
	/* 64 bytes shown (128 digits), then "..." */
	assert_non_null(strstr(got, " warn  db: capped (100 bytes): ABCD0000"));
	const char *hex = strstr(got, "ABCD");
	assert_non_null(hex);
	assert_int_equal(strspn(hex, "0123456789ABCDEF"), 128);
	assert_int_equal(strncmp(hex + 128, "...\n", 4), 0);
}

/* One message of a SOCK_SEQPACKET socket is one write(2): the next one, or 0 when none is
 * waiting. */
static size_t next_write(int fd, char *got, size_t cap)
{
	ssize_t n = recv(fd, got, cap - 1, MSG_DONTWAIT);
	if (n < 0) {
		assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
		n = 0;
	}
	got[n] = '\0';
	return (size_t)n;
}

/* "x" before "y" in s, both present */
static void assert_before(const char *s, const char *x, const char *y)
{
	const char *px = strstr(s, x), *py = strstr(s, y);
	assert_non_null(px);
	assert_non_null(py);
	assert_true(px < py);
}

static void log_batch(void **state)
{
	(void)state;
	int sv[2];
	static char got[65536];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	dp_log_set_fd(sv[1]);
	assert_int_equal(dp_log_configure("info"), 0);

	/* info lines wait for the end, then go out in one write */
	dp_log_batch_begin();
	dp_log_info(DP_LOG_ES9, "a1");
	dp_log_info(DP_LOG_HTTP, "a2");
	dp_log_debug(DP_LOG_ES9, "a-hidden");
	assert_int_equal(next_write(sv[0], got, sizeof(got)), 0);
	dp_log_batch_end();
	assert_true(next_write(sv[0], got, sizeof(got)) > 0);
	assert_before(got, "es9: a1\n", "http: a2\n");
	assert_null(strstr(got, "a-hidden"));
	assert_int_equal(next_write(sv[0], got, sizeof(got)), 0);

	/* nested: only the outer end writes; a warning is never held and takes the waiting
	 * lines with it, in order */
	dp_log_batch_begin();
	dp_log_batch_begin();
	dp_log_info(DP_LOG_DB, "b1");
	dp_log_batch_end();
	assert_int_equal(next_write(sv[0], got, sizeof(got)), 0);
	dp_log_warn(DP_LOG_DB, "b2");
	assert_true(next_write(sv[0], got, sizeof(got)) > 0);
	assert_before(got, "info  db: b1\n", "warn  db: b2\n");
	dp_log_info(DP_LOG_DB, "b3");
	dp_log_batch_end();
	assert_true(next_write(sv[0], got, sizeof(got)) > 0);
	assert_non_null(strstr(got, "db: b3\n"));
	assert_null(strstr(got, "b2"));

	/* taken lines are not written; put back into a later batch, they come first */
	dp_log_batch_begin();
	dp_log_info(DP_LOG_ES9, "c1");
	size_t len = 0;
	char *lines = dp_log_batch_take(&len);
	assert_non_null(lines);
	assert_true(len > 0);
	dp_log_batch_end();
	assert_int_equal(next_write(sv[0], got, sizeof(got)), 0);
	dp_log_batch_begin();
	dp_log_batch_put(lines, len);
	dp_log_info(DP_LOG_HTTP, "c2");
	assert_int_equal(next_write(sv[0], got, sizeof(got)), 0);
	dp_log_batch_end();
	assert_true(next_write(sv[0], got, sizeof(got)) > 0);
	assert_before(got, "es9: c1\n", "http: c2\n");
	/* nothing to take; a put outside a batch writes at once */
	assert_null(dp_log_batch_take(&len));
	assert_int_equal(len, 0);
	dp_log_batch_put(NULL, 0);
	dp_log_batch_begin();
	dp_log_info(DP_LOG_ES9, "d1");
	lines = dp_log_batch_take(&len);
	dp_log_batch_end();
	dp_log_batch_put(lines, len);
	assert_true(next_write(sv[0], got, sizeof(got)) > 0);
	assert_non_null(strstr(got, "es9: d1\n"));

	/* more than the buffer holds: whole lines in each write, none lost, in order */
	char big[3001];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	dp_log_batch_begin();
	for (int i = 0; i < 12; i++)
		dp_log_info(DP_LOG_PROFILE, "e%02d %s", i, big);
	dp_log_batch_end();
	int seen = 0, writes = 0;
	while (next_write(sv[0], got, sizeof(got)) > 0) {
		writes++;
		assert_int_equal(got[strlen(got) - 1], '\n');
		for (const char *p = got; (p = strstr(p, "profile: e")) != NULL; p++) {
			int i = atoi(p + strlen("profile: e"));
			assert_int_equal(i, seen);
			seen++;
		}
	}
	assert_int_equal(seen, 12);
	assert_true(writes >= 3 && writes < 12);

	dp_log_set_fd(2);
	close(sv[0]);
	close(sv[1]);
}

/* dp_err_set may be given its own detail as an argument */
static void error_detail_alias(void **state)
{
	(void)state;
	assert_int_equal(dp_err_set(DP_ERR_INVAL, "inner %d", 7), DP_ERR_INVAL);
	assert_int_equal(dp_err_set(DP_ERR_USAGE, "outer: %s", dp_err_detail()), DP_ERR_USAGE);
	assert_string_equal(dp_err_detail(), "outer: inner 7");
	assert_int_equal(dp_err_set(DP_ERR_USAGE, "%s", dp_err_detail()), DP_ERR_USAGE);
	assert_string_equal(dp_err_detail(), "outer: inner 7");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buf_limit), cmocka_unit_test(buf_growth), cmocka_unit_test(read_file), cmocka_unit_test(cursor),
		cmocka_unit_test(errors), cmocka_unit_test(error_detail_alias),    cmocka_unit_test(secrets),    cmocka_unit_test(log_config), cmocka_unit_test(log_output),
		cmocka_unit_test(log_batch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
