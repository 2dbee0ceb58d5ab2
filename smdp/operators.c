/* The operator registry (contract in operators.h; format in docs/es2plus.md): a YAML file
 *
 *   operators:
 *     - id: ACME                        # functionRequesterIdentifier = owner of profiles
 *       certificate: acme-cert.pem      # its TLS client certificate (PEM or DER; a relative
 *                                       # path is read from the file's folder)
 *       callback_url: https://...       # HandleDownloadProgressInfo; optional
 *     - id: OTHER
 *       cert_sha256: 3f0c...            # instead of certificate: SHA-256 of the DER, hex
 *
 * read once at start-up into a fixed array; lookups are linear (a handful of operators). */
#include "smdp/operators.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include <openssl/evp.h>

#include "pki/base/buf.h"
#include "pki/base/codec.h"
#include "pki/base/secure.h"
#include "pki/crypto/cert.h"

#define OPERATORS_MAX 256

struct dp_operators {
	size_t n;
	struct dp_operator op[];
};

/* file:line:column of a node, for every error */
#define AT(node) path, (node)->start_mark.line + 1, (node)->start_mark.column + 1

static bool id_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > DP_OPERATOR_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7E)
			return false;
	}
	return true;
}

static int cert_hash(const char *path, const char *file, uint8_t out[32])
{
	char full[PATH_MAX];
	struct dp_cert *c = NULL;
	const char *slash = strrchr(path, '/');
	if (file[0] == '/' || slash == NULL)
		snprintf(full, sizeof(full), "%s", file);
	else
		snprintf(full, sizeof(full), "%.*s/%s", (int)(slash - path), path, file);
	int r = dp_cert_load_file(full, &c);
	if (r)
		return dp_err_wrap(r, "%s", full);
	size_t len;
	const uint8_t *der = dp_cert_der(c, &len);
	unsigned int hl = 0;
	if (EVP_Digest(der, len, out, &hl, EVP_sha256(), NULL) != 1 || hl != 32)
		r = dp_err_set(DP_ERR_CRYPTO, "SHA-256");
	dp_cert_free(c);
	return r;
}

/* One list entry: a mapping of id, certificate | cert_sha256, callback_url. */
static int read_entry(const char *path, yaml_document_t *doc, yaml_node_t *m,
		      struct dp_operator *op)
{
	bool have_id = false, have_cert = false;
	if (m->type != YAML_MAPPING_NODE)
		return dp_err_set(DP_ERR_CONFIG,
				  "%s:%zu:%zu: expected a mapping (id, certificate, "
				  "callback_url)",
				  AT(m));
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		yaml_node_t *v = yaml_document_get_node(doc, p->value);
		if (k->type != YAML_SCALAR_NODE || v->type != YAML_SCALAR_NODE)
			return dp_err_set(DP_ERR_CONFIG, "%s:%zu:%zu: expected key: value", AT(k));
		const char *key = (const char *)k->data.scalar.value;
		const char *val = (const char *)v->data.scalar.value;
		int r = DP_OK;
		if (strcmp(key, "id") == 0 && !have_id) {
			if (!id_valid(val))
				return dp_err_set(
				    DP_ERR_CONFIG,
				    "%s:%zu:%zu: id: 1..%d printable characters, no spaces", AT(v),
				    DP_OPERATOR_ID_MAX);
			snprintf(op->id, sizeof(op->id), "%s", val);
			have_id = true;
		} else if (strcmp(key, "certificate") == 0 && !have_cert) {
			r = cert_hash(path, val, op->cert_sha256);
			have_cert = true;
		} else if (strcmp(key, "cert_sha256") == 0 && !have_cert) {
			size_t n = 0;
			if (strlen(val) != 64 ||
			    dp_hex_decode(val, 64, op->cert_sha256, 32, &n) != DP_OK || n != 32)
				return dp_err_set(DP_ERR_CONFIG,
						  "%s:%zu:%zu: cert_sha256: 64 hex digits", AT(v));
			have_cert = true;
		} else if (strcmp(key, "callback_url") == 0 && op->callback_url[0] == '\0') {
			/* the callbacks go over verified TLS only */
			if (val[0] != '\0' &&
			    (strncmp(val, "https://", 8) != 0 || strlen(val) < 9 ||
			     strlen(val) > DP_OPERATOR_URL_MAX))
				return dp_err_set(DP_ERR_CONFIG,
						  "%s:%zu:%zu: callback_url: an https:// URL of at "
						  "most %d characters",
						  AT(v), DP_OPERATOR_URL_MAX);
			snprintf(op->callback_url, sizeof(op->callback_url), "%s", val);
		} else {
			return dp_err_set(DP_ERR_CONFIG, "%s:%zu:%zu: unknown or repeated key '%s'",
					  AT(k), key);
		}
		if (r)
			return dp_err_wrap(r, "%s:%zu:%zu: certificate", AT(v));
	}
	if (!have_id || !have_cert)
		return dp_err_set(DP_ERR_CONFIG,
				  "%s:%zu:%zu: an operator needs an id and a "
				  "certificate (or cert_sha256)",
				  AT(m));
	return DP_OK;
}

static int read_list(const char *path, yaml_document_t *doc, yaml_node_t *root,
		     struct dp_operators **out)
{
	yaml_node_t *list = NULL;
	if (root->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
		     p < root->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(doc, p->key);
			if (k->type != YAML_SCALAR_NODE ||
			    strcmp((const char *)k->data.scalar.value, "operators") != 0 ||
			    list != NULL)
				return dp_err_set(DP_ERR_CONFIG,
						  "%s:%zu:%zu: expected one key 'operators'",
						  AT(k));
			list = yaml_document_get_node(doc, p->value);
		}
	}
	if (list == NULL || list->type != YAML_SEQUENCE_NODE)
		return dp_err_set(DP_ERR_CONFIG, "%s:%zu:%zu: expected 'operators:' and a list",
				  AT(list != NULL ? list : root));
	size_t n = (size_t)(list->data.sequence.items.top - list->data.sequence.items.start);
	if (n > OPERATORS_MAX)
		return dp_err_set(DP_ERR_CONFIG, "%s:%zu:%zu: more than %d operators", AT(list),
				  OPERATORS_MAX);
	struct dp_operators *ops = calloc(1, sizeof(*ops) + n * sizeof(ops->op[0]));
	if (ops == NULL)
		return dp_err_set(DP_ERR_NOMEM, "operators");
	int r = DP_OK;
	for (size_t i = 0; i < n && r == DP_OK; i++) {
		yaml_node_t *e = yaml_document_get_node(doc, list->data.sequence.items.start[i]);
		r = read_entry(path, doc, e, &ops->op[i]);
		/* ids and certificates are keys: each at most once */
		for (size_t j = 0; r == DP_OK && j < i; j++) {
			if (strcmp(ops->op[j].id, ops->op[i].id) == 0 ||
			    memcmp(ops->op[j].cert_sha256, ops->op[i].cert_sha256, 32) == 0)
				r = dp_err_set(DP_ERR_CONFIG,
					       "%s:%zu:%zu: operator '%s': id or "
					       "certificate already used by '%s'",
					       AT(e), ops->op[i].id, ops->op[j].id);
		}
		ops->n = i + 1;
	}
	if (r) {
		free(ops);
		return r;
	}
	*out = ops;
	return DP_OK;
}

int dp_operators_load(const char *path, struct dp_operators **out)
{
	struct dp_buf text;
	yaml_parser_t p;
	yaml_document_t doc;
	bool have_parser = false, have_doc = false;
	int r;

	*out = NULL;
	if (path == NULL || path[0] == '\0') {
		*out = calloc(1, sizeof(**out));
		return *out != NULL ? DP_OK : dp_err_set(DP_ERR_NOMEM, "operators");
	}
	dp_buf_init(&text, 1 << 20);
	r = dp_buf_read_file(&text, path);
	if (r == DP_OK && text.len == 0)
		r = dp_err_set(DP_ERR_CONFIG, "%s:1:1: empty file (expected 'operators:')", path);
	if (r)
		goto out;
	if (!yaml_parser_initialize(&p)) {
		r = dp_err_set(DP_ERR_NOMEM, "YAML parser");
		goto out;
	}
	have_parser = true;
	yaml_parser_set_input_string(&p, text.data, text.len);
	if (!yaml_parser_load(&p, &doc)) {
		r = dp_err_set(DP_ERR_CONFIG, "%s:%zu:%zu: %s", path, p.problem_mark.line + 1,
			       p.problem_mark.column + 1, p.problem ? p.problem : "invalid YAML");
		goto out;
	}
	have_doc = true;
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (root == NULL)
		r = dp_err_set(DP_ERR_CONFIG, "%s:1:1: empty file (expected 'operators:')", path);
	else
		r = read_list(path, &doc, root, out);
out:
	if (have_doc)
		yaml_document_delete(&doc);
	if (have_parser)
		yaml_parser_delete(&p);
	dp_buf_deinit(&text);
	return r;
}

void dp_operators_free(struct dp_operators *ops)
{
	free(ops);
}

size_t dp_operators_count(const struct dp_operators *ops)
{
	return ops != NULL ? ops->n : 0;
}

const struct dp_operator *dp_operators_by_id(const struct dp_operators *ops, const char *id)
{
	for (size_t i = 0; ops != NULL && i < ops->n; i++) {
		if (strcmp(ops->op[i].id, id) == 0)
			return &ops->op[i];
	}
	return NULL;
}

const struct dp_operator *dp_operators_by_cert(const struct dp_operators *ops, const uint8_t *der,
					       size_t len)
{
	uint8_t h[32];
	unsigned int hl = 0;
	if (ops == NULL || der == NULL || EVP_Digest(der, len, h, &hl, EVP_sha256(), NULL) != 1)
		return NULL;
	for (size_t i = 0; i < ops->n; i++) {
		if (dp_ct_equal(ops->op[i].cert_sha256, h, 32))
			return &ops->op[i];
	}
	return NULL;
}
