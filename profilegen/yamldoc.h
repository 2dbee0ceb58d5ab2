/* A loaded YAML document with positions, and error messages that name file, line,
 * column and field ("op.yaml:12:9: elements[3].usim.ef-imsi: ..."). Internal. */
#ifndef DP_PROFILEGEN_YAMLDOC_H
#define DP_PROFILEGEN_YAMLDOC_H

#include <stdbool.h>
#include <stddef.h>

#include <yaml.h>

#include "pki/base/error.h"

struct dp_pg_ydoc {
	yaml_document_t doc;
	bool loaded;
	const char *name;   /* for messages; not owned */
	char path[512];     /* the field being read, maintained by push/pop */
	size_t plen;
};

int dp_pg_ydoc_load(struct dp_pg_ydoc *y, const char *name, const char *text,
		    size_t len) DP_WUR;
void dp_pg_ydoc_deinit(struct dp_pg_ydoc *y);
yaml_node_t *dp_pg_ydoc_root(struct dp_pg_ydoc *y);
yaml_node_t *dp_pg_ynode(struct dp_pg_ydoc *y, int id);
/* Field path: push "key" or "[i]"; pop restores the previous length. */
size_t dp_pg_ypush(struct dp_pg_ydoc *y, const char *key);
size_t dp_pg_ypush_index(struct dp_pg_ydoc *y, size_t i);
void dp_pg_ypop(struct dp_pg_ydoc *y, size_t mark);
/* Sets err with "name:line:col: path: message" for node n; returns err. */
int dp_pg_yerr(struct dp_pg_ydoc *y, const yaml_node_t *n, int err, const char *fmt, ...)
	DP_PRINTF(4, 5);
/* Scalar text (NUL-terminated by libyaml) or an error naming the field. */
int dp_pg_yscalar(struct dp_pg_ydoc *y, yaml_node_t *n, const char **s) DP_WUR;
/* Looks up key in a mapping; NULL when absent. */
yaml_node_t *dp_pg_yget(struct dp_pg_ydoc *y, yaml_node_t *map, const char *key);
/* Checks n is a mapping whose keys are scalars, unique, and all in `allowed`
 * (NULL-terminated; NULL = any key). */
int dp_pg_ymap_check(struct dp_pg_ydoc *y, yaml_node_t *n, const char *const *allowed) DP_WUR;
/* The hex value of `key` in `map` into out[0..cap); *node is its node, or NULL (and *len 0)
 * when the key is absent. */
int dp_pg_yhex(struct dp_pg_ydoc *y, yaml_node_t *map, const char *key, uint8_t *out,
	       size_t cap, size_t *len, yaml_node_t **node) DP_WUR;
/* A file path given in node n: as is when absolute, else relative to base_dir; a path
 * that does not fit into cap is an error naming the field. */
int dp_pg_ypath(struct dp_pg_ydoc *y, yaml_node_t *n, const char *base_dir, char *out,
		size_t cap) DP_WUR;

#endif
