/* YAML loading with positions (libyaml 0.2 document API) and field-naming errors. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "profilegen/profilegen.h"
#include "profilegen/yamldoc.h"

#include "pki/base/codec.h"

int dp_pg_ydoc_load(struct dp_pg_ydoc *y, const char *name, const char *text, size_t len)
{
	yaml_parser_t p;
	int r = DP_OK;
	memset(y, 0, sizeof(*y));
	y->name = name;
	if (len > DP_PG_MAX_YAML)
		return dp_err_set(DP_ERR_TOO_LONG, "%s: YAML of %zu bytes", name, len);
	if (!yaml_parser_initialize(&p))
		return dp_err_set(DP_ERR_NOMEM, "yaml parser");
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	if (!yaml_parser_load(&p, &y->doc)) {
		r = dp_err_set(DP_ERR_PG_YAML, "%s:%zu:%zu: %s%s%s", name, p.problem_mark.line + 1,
			       p.problem_mark.column + 1, p.problem ? p.problem : "syntax error",
			       p.context ? " " : "", p.context ? p.context : "");
		goto out;
	}
	y->loaded = true;
	if (yaml_document_get_root_node(&y->doc) == NULL)
		r = dp_err_set(DP_ERR_EMPTY, "%s: empty YAML document", name);
out:
	yaml_parser_delete(&p);
	return r;
}

void dp_pg_ydoc_deinit(struct dp_pg_ydoc *y)
{
	if (y->loaded)
		yaml_document_delete(&y->doc);
	y->loaded = false;
}

yaml_node_t *dp_pg_ydoc_root(struct dp_pg_ydoc *y)
{
	return yaml_document_get_root_node(&y->doc);
}

yaml_node_t *dp_pg_ynode(struct dp_pg_ydoc *y, int id)
{
	return yaml_document_get_node(&y->doc, id);
}

size_t dp_pg_ypush(struct dp_pg_ydoc *y, const char *key)
{
	size_t mark = y->plen;
	int n = snprintf(y->path + y->plen, sizeof(y->path) - y->plen, "%s%s",
			 y->plen ? "." : "", key);
	if (n > 0 && (size_t)n < sizeof(y->path) - y->plen)
		y->plen += (size_t)n;
	return mark;
}

size_t dp_pg_ypush_index(struct dp_pg_ydoc *y, size_t i)
{
	size_t mark = y->plen;
	int n = snprintf(y->path + y->plen, sizeof(y->path) - y->plen, "[%zu]", i);
	if (n > 0 && (size_t)n < sizeof(y->path) - y->plen)
		y->plen += (size_t)n;
	return mark;
}

void dp_pg_ypop(struct dp_pg_ydoc *y, size_t mark)
{
	y->plen = mark;
	y->path[mark] = '\0';
}

int dp_pg_yerr(struct dp_pg_ydoc *y, const yaml_node_t *n, int err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	size_t line = n ? n->start_mark.line + 1 : 0, col = n ? n->start_mark.column + 1 : 0;
	return dp_err_set(err, "%s:%zu:%zu: %s: %s", y->name, line, col,
			  y->plen ? y->path : "(document)", msg);
}

static const char *type_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE: return "a scalar";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE: return "a mapping";
	default: return "nothing";
	}
}

int dp_pg_yscalar(struct dp_pg_ydoc *y, yaml_node_t *n, const char **s)
{
	if (n->type != YAML_SCALAR_NODE)
		return dp_pg_yerr(y, n, DP_ERR_PG_SCHEMA, "expected a scalar, found %s",
				  type_name(n));
	*s = (const char *)n->data.scalar.value;
	if (strlen(*s) != n->data.scalar.length)
		return dp_pg_yerr(y, n, DP_ERR_PG_VALUE, "NUL character in value");
	return DP_OK;
}

int dp_pg_yhex(struct dp_pg_ydoc *y, yaml_node_t *map, const char *key, uint8_t *out,
	       size_t cap, size_t *len, yaml_node_t **node)
{
	const char *s;
	*node = dp_pg_yget(y, map, key);
	*len = 0;
	if (*node == NULL)
		return DP_OK;
	size_t mark = dp_pg_ypush(y, key);
	int r = dp_pg_yscalar(y, *node, &s);
	if (r == DP_OK && dp_hex_decode(s, strlen(s), out, cap, len) != DP_OK)
		r = dp_pg_yerr(y, *node, DP_ERR_PG_VALUE, "expected at most %zu bytes of hex", cap);
	dp_pg_ypop(y, mark);
	return r;
}

int dp_pg_ypath(struct dp_pg_ydoc *y, yaml_node_t *n, const char *base_dir, char *out,
		size_t cap)
{
	const char *s;
	int r = dp_pg_yscalar(y, n, &s);
	if (r)
		return r;
	int len = s[0] == '/' || base_dir == NULL || base_dir[0] == '\0'
			  ? snprintf(out, cap, "%s", s)
			  : snprintf(out, cap, "%s/%s", base_dir, s);
	if (len < 0 || (size_t)len >= cap)
		return dp_pg_yerr(y, n, DP_ERR_PG_VALUE, "path longer than %zu bytes", cap - 1);
	return DP_OK;
}

yaml_node_t *dp_pg_yget(struct dp_pg_ydoc *y, yaml_node_t *map, const char *key)
{
	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = dp_pg_ynode(y, p->key);
		if (k && k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, key) == 0)
			return dp_pg_ynode(y, p->value);
	}
	return NULL;
}

int dp_pg_ymap_check(struct dp_pg_ydoc *y, yaml_node_t *n, const char *const *allowed)
{
	if (n->type != YAML_MAPPING_NODE)
		return dp_pg_yerr(y, n, DP_ERR_PG_SCHEMA, "expected a mapping, found %s",
				  type_name(n));
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = dp_pg_ynode(y, p->key);
		if (k == NULL || k->type != YAML_SCALAR_NODE)
			return dp_pg_yerr(y, k, DP_ERR_PG_SCHEMA, "mapping key is not a scalar");
		const char *ks = (const char *)k->data.scalar.value;
		for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p; q++) {
			yaml_node_t *k2 = dp_pg_ynode(y, q->key);
			if (k2 && k2->type == YAML_SCALAR_NODE &&
			    strcmp((char *)k2->data.scalar.value, ks) == 0)
				return dp_pg_yerr(y, k, DP_ERR_PG_DUPLICATE, "duplicate key '%s'", ks);
		}
		if (allowed == NULL)
			continue;
		bool ok = false;
		for (size_t i = 0; allowed[i] && !ok; i++)
			ok = strcmp(allowed[i], ks) == 0;
		if (!ok)
			return dp_pg_yerr(y, k, DP_ERR_PG_SCHEMA, "unknown key '%s'", ks);
	}
	return DP_OK;
}
