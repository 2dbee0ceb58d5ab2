/* Helpers for the pki crypto suites (see pki_test.h). */
#include "test/unit/pki/pki_test.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool find_vec(const char *file_name, const char *name, struct dp_buf *out)
{
	struct dp_buf file;
	size_t n = strlen(name);

	dp_test_read_file(dp_test_data(file_name), &file);
	assert_int_equal(dp_buf_append_byte(&file, 0), 0);
	const char *p = (const char *)file.data;
	while (p != NULL && *p) {
		if (strncmp(p, name, n) == 0 && p[n] == ' ') {
			const char *hex = p + n + 1;
			size_t len = strcspn(hex, "\n");
			char *copy = strndup(hex, len);
			dp_test_hex(copy, out);
			free(copy);
			dp_buf_deinit(&file);
			return true;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	dp_buf_deinit(&file);
	return false;
}

void pki_vec(const char *name, struct dp_buf *out)
{
	if (!find_vec("pki/vectors.txt", name, out) && !find_vec("pki/pysim-vectors.txt", name, out))
		fail_msg("no vector %s in test/data/pki", name);
}

struct dp_cert *pki_sgp26_cert(const char *rel)
{
	char path[512];
	struct dp_cert *c = NULL;
	snprintf(path, sizeof(path), "sgp26/%s", rel);
	int r = dp_cert_load_file(dp_test_shared(path), &c);
	if (r)
		fail_msg("%s: %s: %s", rel, dp_strerror(r), dp_err_detail());
	return c;
}

EVP_PKEY *pki_sgp26_key(const char *rel)
{
	char path[512];
	EVP_PKEY *k = NULL;
	snprintf(path, sizeof(path), "sgp26/%s", rel);
	int r = dp_cert_key_load_file(dp_test_shared(path), &k);
	if (r)
		fail_msg("%s: %s: %s", rel, dp_strerror(r), dp_err_detail());
	return k;
}

const char *pki_tmpdir(void)
{
	static char dir[512];
	const char *base = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/smdp-pki-XXXXXX", base && *base ? base : "/tmp");
	if (mkdtemp(dir) == NULL)
		fail_msg("mkdtemp failed");
	return dir;
}

void pki_rmdir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[1024];
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (e->d_type == DT_DIR)
			pki_rmdir(path);
		else
			unlink(path);
	}
	if (d != NULL)
		closedir(d);
	rmdir(dir);
}

time_t pki_date(const char *ymd)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(ymd, "%d-%d-%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
		fail_msg("bad date %s", ymd);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}
