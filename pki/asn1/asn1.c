/* The libtasn1 wrapper (contract in asn1.h).
 *
 * Tolerance pass: the generated definition tables (asn1_static_node arrays, the on-disk
 * tree format asn1Parser writes) are walked to learn, for every type, its members and
 * their tags. A received TLV tree is then copied member by member; a TLV that matches no
 * member of its SEQUENCE/SET is left out. The walk follows the schema, so nesting depth is
 * bounded by the schema, not by the input. */
#include "pki/asn1/asn1.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pki/asn1/tlv.h"
#include "pki/base/log.h"
#include "schemas/schemas.h"

/* Node type flags of the static table format (libtasn1's int.h; the values are part of
 * the format asn1Parser writes). The round-trip and tolerance suites in test/unit/asn1
 * would fail if they changed. */
#define NODE_TYPE(t) ((t) & 0xFFu)
#define F_UNIVERSAL (1u << 8)
#define F_PRIVATE (1u << 9)
#define F_APPLICATION (1u << 10)
#define F_EXPLICIT (1u << 11)
#define F_TAG (1u << 13)
#define F_OPTION (1u << 14)
#define F_DEFAULT (1u << 15)
#define F_UTC (1u << 24)
#define F_DOWN (1u << 29)
#define F_RIGHT (1u << 30)
#define ETYPE_TIME 17 /* UTCTime/GeneralizedTime before asn1Parser splits them */

#define NO_NODE UINT32_MAX
#define MAX_HOPS 16   /* type reference chain */
#define MAX_DEPTH 48  /* TLV nesting followed by the tolerance pass */
#define MAX_DER ((size_t)64 << 20)

struct type_entry {
	const char *name;
	uint32_t idx;
};

struct pe_alt {
	enum dp_tlv_class cls;
	uint32_t number;
	const char *name;   /* alternative name, e.g. "usim" */
	char wrapper[72];   /* "PEDefinitions.PEW-usim" */
};

/* A node's own tag (its first TAG child), decoded from the table's text once. */
struct tag_info {
	bool tagged;
	enum dp_tlv_class cls;
	uint32_t number;
};

struct module {
	const char *name;
	const asn1_static_node *tab;
	uint32_t n;
	uint32_t *first_child;
	uint32_t *next_sibling;
	struct type_entry *types;
	size_t ntypes;
	asn1_node defs;
	/* per node, derived from the table at load so that a decode does no name lookup and
	 * no text-to-number conversion: */
	uint32_t *resolved;    /* IDENTIFIER: the type node it names; NO_NODE otherwise */
	struct tag_info *tags; /* the node's own tag */
	uint32_t *base;        /* structure_of(): the node that defines the structure */
	uint8_t *n_explicit;   /* structure_of(): EXPLICIT tags met on the way there */
	/* per type node: an empty element made by asn1_create_element() once, then only
	 * copied (asn1_dup_node). Set once, never changed or freed: read without a lock. */
	_Atomic(asn1_node) *templates;
};

static struct module modules[2];
static struct pe_alt *pe_alts;
static size_t n_pe_alts;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result = DP_ERR_ASN1_SCHEMA;

/* ---- the static tree ------------------------------------------------------------ */

static uint32_t walk(struct module *m, uint32_t i, int depth)
{
	uint32_t j = i + 1;
	if (depth > 64 || i >= m->n)
		return m->n;
	if (m->tab[i].type & F_DOWN) {
		m->first_child[i] = j;
		uint32_t c = j;
		for (;;) {
			uint32_t after = walk(m, c, depth + 1);
			if ((m->tab[c].type & F_RIGHT) && after < m->n) {
				m->next_sibling[c] = after;
				c = after;
				continue;
			}
			j = after;
			break;
		}
	}
	return j;
}

static int type_cmp(const void *a, const void *b)
{
	return strcmp(((const struct type_entry *)a)->name, ((const struct type_entry *)b)->name);
}

static int index_nodes(struct module *m);

static int module_load(struct module *m, const char *name, const asn1_static_node *tab)
{
	char err[ASN1_MAX_ERROR_DESCRIPTION_SIZE] = "";
	m->name = name;
	m->tab = tab;
	m->n = 0;
	while (tab[m->n].name != NULL || tab[m->n].type != 0 || tab[m->n].value != NULL)
		m->n++;
	m->first_child = malloc(m->n * sizeof(uint32_t));
	m->next_sibling = malloc(m->n * sizeof(uint32_t));
	m->types = calloc(m->n, sizeof(struct type_entry));
	m->templates = calloc(m->n, sizeof(m->templates[0]));
	if (!m->first_child || !m->next_sibling || !m->types || !m->templates)
		return dp_err_set(DP_ERR_NOMEM, "schema index");
	for (uint32_t i = 0; i < m->n; i++)
		m->first_child[i] = m->next_sibling[i] = NO_NODE;
	if (walk(m, 0, 0) != m->n)
		return dp_err_set(DP_ERR_ASN1_SCHEMA, "%s: unexpected table layout", name);
	for (uint32_t c = m->first_child[0]; c != NO_NODE; c = m->next_sibling[c]) {
		if (m->tab[c].name != NULL)
			m->types[m->ntypes++] = (struct type_entry){ m->tab[c].name, c };
	}
	qsort(m->types, m->ntypes, sizeof(m->types[0]), type_cmp);

	int r = index_nodes(m);
	if (r)
		return r;
	r = asn1_array2tree(tab, &m->defs, err);
	if (r != ASN1_SUCCESS)
		return dp_err_set(DP_ERR_ASN1_SCHEMA, "%s: %s %s", name, asn1_strerror(r), err);
	return DP_OK;
}

static uint32_t find_type(const struct module *m, const char *name)
{
	struct type_entry key = { name, 0 };
	const struct type_entry *e =
		bsearch(&key, m->types, m->ntypes, sizeof(m->types[0]), type_cmp);
	return e ? e->idx : NO_NODE;
}

static bool is_tag_node(const struct module *m, uint32_t i)
{
	return NODE_TYPE(m->tab[i].type) == ASN1_ETYPE_TAG;
}

/* Members (SEQUENCE/SET/CHOICE) are the named children; TAG, SIZE and DEFAULT children
 * are unnamed, as is the element type of a SEQUENCE OF. */
static uint32_t first_member(const struct module *m, uint32_t i)
{
	uint32_t c = m->first_child[i];
	while (c != NO_NODE && m->tab[c].name == NULL)
		c = m->next_sibling[c];
	return c;
}

static uint32_t next_member(const struct module *m, uint32_t c)
{
	c = m->next_sibling[c];
	while (c != NO_NODE && m->tab[c].name == NULL)
		c = m->next_sibling[c];
	return c;
}

static uint32_t sequence_of_element(const struct module *m, uint32_t i)
{
	for (uint32_t c = m->first_child[i]; c != NO_NODE; c = m->next_sibling[c]) {
		unsigned t = NODE_TYPE(m->tab[c].type);
		if (t != ASN1_ETYPE_TAG && t != ASN1_ETYPE_SIZE && t != ASN1_ETYPE_DEFAULT)
			return c;
	}
	return NO_NODE;
}

static uint32_t first_tag(const struct module *m, uint32_t i)
{
	if (!(m->tab[i].type & F_TAG))
		return NO_NODE;
	for (uint32_t c = m->first_child[i]; c != NO_NODE; c = m->next_sibling[c]) {
		if (is_tag_node(m, c))
			return c;
	}
	return NO_NODE;
}

static uint32_t resolve_name(const struct module *m, uint32_t i)
{
	if (NODE_TYPE(m->tab[i].type) != ASN1_ETYPE_IDENTIFIER || m->tab[i].value == NULL)
		return NO_NODE;
	return find_type(m, (const char *)m->tab[i].value);
}

static uint32_t resolve(const struct module *m, uint32_t i)
{
	return m->resolved[i];
}

static int universal_tag(unsigned etype, unsigned flags)
{
	switch (etype) {
	case ASN1_ETYPE_BOOLEAN: return 1;
	case ASN1_ETYPE_INTEGER: return 2;
	case ASN1_ETYPE_BIT_STRING: return 3;
	case ASN1_ETYPE_OCTET_STRING: return 4;
	case ASN1_ETYPE_NULL: return 5;
	case ASN1_ETYPE_OBJECT_ID: return 6;
	case ASN1_ETYPE_ENUMERATED: return 10;
	case ASN1_ETYPE_UTF8_STRING: return 12;
	case ASN1_ETYPE_SEQUENCE:
	case ASN1_ETYPE_SEQUENCE_OF: return 16;
	case ASN1_ETYPE_SET:
	case ASN1_ETYPE_SET_OF: return 17;
	case ASN1_ETYPE_NUMERIC_STRING: return 18;
	case ASN1_ETYPE_PRINTABLE_STRING: return 19;
	case ASN1_ETYPE_TELETEX_STRING: return 20;
	case ASN1_ETYPE_IA5_STRING: return 22;
	case ASN1_ETYPE_UTC_TIME: return 23;
	case ASN1_ETYPE_GENERALIZED_TIME: return 24;
	case ETYPE_TIME: return (flags & F_UTC) ? 23 : 24;
	case ASN1_ETYPE_VISIBLE_STRING: return 26;
	case ASN1_ETYPE_GENERALSTRING: return 27;
	case ASN1_ETYPE_UNIVERSAL_STRING: return 28;
	case ASN1_ETYPE_BMP_STRING: return 30;
	default: return -1;
	}
}

static void tag_of(const struct module *m, uint32_t tagnode, enum dp_tlv_class *cls,
		   uint32_t *number)
{
	unsigned f = m->tab[tagnode].type;
	*cls = (f & F_UNIVERSAL) ? DP_TLV_UNIVERSAL
	       : (f & F_APPLICATION) ? DP_TLV_APPLICATION
	       : (f & F_PRIVATE) ? DP_TLV_PRIVATE
				 : DP_TLV_CONTEXT;
	*number = (uint32_t)strtoul((const char *)m->tab[tagnode].value, NULL, 10);
}

/* Does a TLV with this class/number start a value of definition node i? */
static bool node_matches(const struct module *m, uint32_t i, enum dp_tlv_class cls,
			 uint32_t number, int hops)
{
	if (i == NO_NODE || hops > MAX_HOPS)
		return false;
	if (m->tags[i].tagged)
		return m->tags[i].cls == cls && m->tags[i].number == number;
	unsigned etype = NODE_TYPE(m->tab[i].type);
	if (etype == ASN1_ETYPE_IDENTIFIER)
		return node_matches(m, resolve(m, i), cls, number, hops + 1);
	if (etype == ASN1_ETYPE_ANY)
		return true;
	if (etype == ASN1_ETYPE_CHOICE) {
		for (uint32_t a = first_member(m, i); a != NO_NODE; a = next_member(m, a)) {
			if (node_matches(m, a, cls, number, hops + 1))
				return true;
		}
		return false;
	}
	return cls == DP_TLV_UNIVERSAL && (int)number == universal_tag(etype, m->tab[i].type);
}

/* Follows type references from node i; counts the EXPLICIT tags met on the way (each one
 * is a TLV level on the wire) and returns the node that defines the structure. */
static uint32_t structure_walk(const struct module *m, uint32_t i, int *n_explicit)
{
	*n_explicit = 0;
	for (int hops = 0; i != NO_NODE && hops < MAX_HOPS; hops++) {
		if (m->tab[i].type & F_TAG) {
			for (uint32_t c = m->first_child[i]; c != NO_NODE; c = m->next_sibling[c]) {
				if (is_tag_node(m, c) && (m->tab[c].type & F_EXPLICIT))
					(*n_explicit)++;
			}
		}
		if (NODE_TYPE(m->tab[i].type) != ASN1_ETYPE_IDENTIFIER)
			return i;
		i = resolve(m, i);
	}
	return NO_NODE;
}

/* structure_walk(), as computed at load. */
static uint32_t structure_of(const struct module *m, uint32_t i, int *n_explicit)
{
	*n_explicit = m->n_explicit[i];
	return m->base[i];
}

/* Fills the per-node tables (after the types are sorted: resolving needs find_type). */
static int index_nodes(struct module *m)
{
	m->resolved = malloc(m->n * sizeof(uint32_t));
	m->tags = calloc(m->n, sizeof(struct tag_info));
	m->base = malloc(m->n * sizeof(uint32_t));
	m->n_explicit = calloc(m->n, 1);
	if (!m->resolved || !m->tags || !m->base || !m->n_explicit)
		return dp_err_set(DP_ERR_NOMEM, "schema index");
	for (uint32_t i = 0; i < m->n; i++) {
		m->resolved[i] = resolve_name(m, i);
		uint32_t t = first_tag(m, i);
		if (t != NO_NODE) {
			m->tags[i].tagged = true;
			tag_of(m, t, &m->tags[i].cls, &m->tags[i].number);
		}
	}
	for (uint32_t i = 0; i < m->n; i++) {
		int n = 0;
		m->base[i] = structure_walk(m, i, &n);
		if (n > UINT8_MAX)
			return dp_err_set(DP_ERR_ASN1_SCHEMA, "%s: too many explicit tags", m->name);
		m->n_explicit[i] = (uint8_t)n;
	}
	return DP_OK;
}

/* ---- tolerance pass -------------------------------------------------------------- */

struct prune_ctx {
	const struct module *m;
	size_t dropped;
	bool exact; /* unknown member = error */
};

static const char *node_name(const struct module *m, uint32_t i)
{
	return m->tab[i].name ? m->tab[i].name : "(element)";
}

static int prune_node(struct prune_ctx *x, uint32_t node, const struct dp_tlv *t,
		      struct dp_buf *out, int depth);

/* out == NULL throughout the pass: a dry run that checks the structure and counts what it
 * would drop, writing nothing (see decode()). */
static int emit_constructed(uint32_t tag, struct dp_buf *content, struct dp_buf *out)
{
	if (out == NULL)
		return DP_OK;
	int r = dp_tlv_append_header(out, tag, content->len);
	if (r == DP_OK)
		r = dp_buf_append(out, content->data, content->len);
	return r;
}

static int prune_structure(struct prune_ctx *x, uint32_t base, int n_explicit,
			   const struct dp_tlv *t, struct dp_buf *out, int depth)
{
	const struct module *m = x->m;
	struct dp_buf sub;
	/* where the content goes: nowhere in a dry run */
	struct dp_buf *to = out != NULL ? &sub : NULL;
	struct dp_cursor c;
	struct dp_tlv child;
	int r = DP_OK;

	if (depth > MAX_DEPTH)
		return dp_err_set(DP_ERR_DER_DEPTH, "nesting deeper than %d levels", MAX_DEPTH);

	if (n_explicit > 0) {
		struct dp_tlv inner;
		if (!t->constructed)
			return dp_err_set(DP_ERR_ASN1_DECODE, "%s: explicit tag %X is not constructed",
					  node_name(m, base), t->tag);
		r = dp_tlv_expect(t->value, t->len, 0, &inner);
		if (r)
			return dp_err_wrap(r, "%s", node_name(m, base));
		dp_buf_init(&sub, out != NULL ? out->max : 0);
		r = prune_structure(x, base, n_explicit - 1, &inner, to, depth + 1);
		if (r == DP_OK)
			r = emit_constructed(t->tag, &sub, out);
		dp_buf_deinit(&sub);
		return r;
	}

	unsigned etype = NODE_TYPE(m->tab[base].type);
	switch (etype) {
	case ASN1_ETYPE_SEQUENCE:
	case ASN1_ETYPE_SET: {
		if (!t->constructed)
			return dp_err_set(DP_ERR_ASN1_DECODE, "%s: tag %X is not constructed",
					  node_name(m, base), t->tag);
		dp_buf_init(&sub, out != NULL ? out->max : 0);
		c = dp_cursor_make(t->value, t->len);
		uint32_t from = first_member(m, base);
		while (r == DP_OK && !dp_cursor_done(&c)) {
			r = dp_tlv_next(&c, &child);
			if (r)
				break;
			uint32_t mem = etype == ASN1_ETYPE_SET ? first_member(m, base) : from;
			while (mem != NO_NODE && !node_matches(m, mem, child.cls, child.number, 0))
				mem = next_member(m, mem);
			if (mem == NO_NODE) {
				if (x->exact) {
					r = dp_err_set(DP_ERR_ASN1_DECODE,
						       "%s: no member for tag %X",
						       node_name(m, base), child.tag);
					break;
				}
				x->dropped++;
				if (out != NULL)
					dp_log_debug(DP_LOG_ASN1,
						     "%s: skipped unknown member, tag %X, %zu bytes",
						     node_name(m, base), child.tag, child.raw_len);
				continue;
			}
			r = prune_node(x, mem, &child, to, depth + 1);
			if (etype == ASN1_ETYPE_SEQUENCE)
				from = next_member(m, mem);
		}
		if (r == DP_OK)
			r = emit_constructed(t->tag, &sub, out);
		dp_buf_deinit(&sub);
		return r;
	}
	case ASN1_ETYPE_SEQUENCE_OF:
	case ASN1_ETYPE_SET_OF: {
		uint32_t elem = sequence_of_element(m, base);
		if (!t->constructed || elem == NO_NODE)
			return dp_err_set(DP_ERR_ASN1_DECODE, "%s: tag %X is not constructed",
					  node_name(m, base), t->tag);
		dp_buf_init(&sub, out != NULL ? out->max : 0);
		c = dp_cursor_make(t->value, t->len);
		while (r == DP_OK && !dp_cursor_done(&c)) {
			r = dp_tlv_next(&c, &child);
			if (r == DP_OK)
				r = prune_node(x, elem, &child, to, depth + 1);
		}
		if (r == DP_OK)
			r = emit_constructed(t->tag, &sub, out);
		dp_buf_deinit(&sub);
		return r;
	}
	case ASN1_ETYPE_CHOICE:
		for (uint32_t a = first_member(m, base); a != NO_NODE; a = next_member(m, a)) {
			if (node_matches(m, a, t->cls, t->number, 0))
				return prune_node(x, a, t, out, depth + 1);
		}
		return dp_err_set(DP_ERR_ASN1_DECODE, "%s: tag %X is not one of its alternatives",
				  node_name(m, base), t->tag);
	default:
		/* primitive types and ANY: copied as received */
		return out != NULL ? dp_buf_append(out, t->raw, t->raw_len) : DP_OK;
	}
}

static int prune_node(struct prune_ctx *x, uint32_t node, const struct dp_tlv *t,
		      struct dp_buf *out, int depth)
{
	int n_explicit;
	uint32_t base = structure_of(x->m, node, &n_explicit);
	if (base == NO_NODE)
		return dp_err_set(DP_ERR_ASN1_SCHEMA, "%s: unresolved type reference",
				  node_name(x->m, node));
	return prune_structure(x, base, n_explicit, t, out, depth);
}

/* ---- set-up ---------------------------------------------------------------------- */

static int build_pe_table(void)
{
	const struct module *m = &modules[1];
	uint32_t pe = find_type(m, "ProfileElement");
	if (pe == NO_NODE)
		return dp_err_set(DP_ERR_ASN1_SCHEMA, "PEDefinitions has no ProfileElement");
	size_t n = 0;
	for (uint32_t a = first_member(m, pe); a != NO_NODE; a = next_member(m, a))
		n++;
	pe_alts = calloc(n, sizeof(*pe_alts));
	if (pe_alts == NULL)
		return dp_err_set(DP_ERR_NOMEM, "PE table");
	for (uint32_t a = first_member(m, pe); a != NO_NODE; a = next_member(m, a)) {
		struct pe_alt *e = &pe_alts[n_pe_alts];
		uint32_t t = first_tag(m, a);
		if (t == NO_NODE)
			return dp_err_set(DP_ERR_ASN1_SCHEMA, "ProfileElement.%s is untagged",
					  m->tab[a].name);
		tag_of(m, t, &e->cls, &e->number);
		e->name = m->tab[a].name;
		snprintf(e->wrapper, sizeof(e->wrapper), "PEDefinitions.PEW-%s", e->name);
		if (find_type(m, e->wrapper + strlen("PEDefinitions.")) == NO_NODE)
			return dp_err_set(DP_ERR_ASN1_SCHEMA, "no wrapper type %s", e->wrapper);
		n_pe_alts++;
	}
	return DP_OK;
}

static void init_once_fn(void)
{
	int r = module_load(&modules[0], "RSPDefinitions", dp_rsp_asn1_tab);
	if (r == DP_OK)
		r = module_load(&modules[1], "PEDefinitions", dp_saip_asn1_tab);
	if (r == DP_OK)
		r = build_pe_table();
	if (r)
		dp_log_error(DP_LOG_ASN1, "loading ASN.1 definitions: %s", dp_err_detail());
	init_result = r;
}

int dp_asn1_init(void)
{
	pthread_once(&init_once, init_once_fn);
	if (init_result != DP_OK)
		return dp_err_set(init_result, "ASN.1 definitions failed to load at start-up");
	return DP_OK;
}

/* "Module.Type" -> module and node. */
static int lookup(const char *type, const struct module **mod, uint32_t *node)
{
	int r = dp_asn1_init();
	if (r)
		return r;
	const char *dot = strchr(type, '.');
	if (dot != NULL) {
		for (size_t i = 0; i < 2; i++) {
			const struct module *m = &modules[i];
			if (strlen(m->name) == (size_t)(dot - type) &&
			    strncmp(type, m->name, (size_t)(dot - type)) == 0) {
				uint32_t n = find_type(m, dot + 1);
				if (n != NO_NODE) {
					*mod = m;
					*node = n;
					return DP_OK;
				}
			}
		}
	}
	return dp_err_set(DP_ERR_ASN1_TYPE, "no ASN.1 type '%s'", type);
}

/* ---- public API ------------------------------------------------------------------ */

static int tasn1_error(int rc, const char *what, const char *field, const char *desc)
{
	int err = rc == ASN1_ELEMENT_NOT_FOUND || rc == ASN1_VALUE_NOT_FOUND ? DP_ERR_ASN1_FIELD
		  : rc == ASN1_MEM_ALLOC_ERROR				     ? DP_ERR_NOMEM
									     : DP_ERR_ASN1_VALUE;
	return dp_err_set(err, "%s '%s': %s%s%s", what, field, asn1_strerror(rc),
			  desc && *desc ? ": " : "", desc ? desc : "");
}

/* A fresh empty element of type node `node`. asn1_create_element() copies the type's tree
 * out of the definitions and then, for every type reference in it, looks the referenced
 * type up by name among all the module's types and copies it in: most of the cost of a
 * decode. Its result depends on the type alone, so it is made once per type and kept as a
 * template; every later element is a plain copy of it (asn1_dup_node only reads its
 * source, so threads share the templates). */
static int create_node(const struct module *m, uint32_t node, const char *type, asn1_node *out)
{
	asn1_node tpl = atomic_load_explicit(&m->templates[node], memory_order_acquire);
	*out = NULL;
	if (tpl == NULL) {
		asn1_node fresh = NULL, expected = NULL;
		int rc = asn1_create_element(m->defs, type, &fresh);
		if (rc != ASN1_SUCCESS) {
			dp_asn1_free(&fresh);
			return tasn1_error(rc, "creating", type, NULL);
		}
		/* two threads may race to make the first one: the loser's copy goes */
		if (atomic_compare_exchange_strong_explicit(&m->templates[node], &expected, fresh,
							    memory_order_acq_rel,
							    memory_order_acquire)) {
			tpl = fresh;
		} else {
			dp_asn1_free(&fresh);
			tpl = expected;
		}
	}
	*out = asn1_dup_node(tpl, "");
	if (*out == NULL)
		return dp_err_set(DP_ERR_NOMEM, "creating '%s'", type);
	return DP_OK;
}

int dp_asn1_create(const char *type, asn1_node *out)
{
	const struct module *m;
	uint32_t node;
	*out = NULL;
	int r = lookup(type, &m, &node);
	if (r)
		return r;
	return create_node(m, node, type, out);
}

/* The tolerance pass over one value of type node `node`; out == NULL for a dry run. */
static int do_prune(const struct module *m, uint32_t node, const char *type, const uint8_t *der,
		    size_t len, bool exact, struct dp_buf *out, size_t *dropped)
{
	struct dp_tlv t;
	int r;
	if (len > MAX_DER)
		return dp_err_set(DP_ERR_TOO_LONG, "%s: %zu bytes of DER", type, len);
	r = dp_tlv_read(der, len, &t);
	if (r)
		return dp_err_wrap(r, "%s", type);
	if (!node_matches(m, node, t.cls, t.number, 0))
		return dp_err_set(DP_ERR_DER_UNEXPECTED_TAG, "%s cannot start with tag %X", type,
				  t.tag);
	if (t.raw_len != len)
		return dp_err_set(DP_ERR_DER_TRAILING, "%s: %zu bytes after the value", type,
				  len - t.raw_len);
	struct prune_ctx x = { m, 0, exact };
	r = prune_node(&x, node, &t, out, 0);
	if (r)
		return dp_err_wrap(r, "%s", type);
	if (dropped != NULL)
		*dropped = x.dropped;
	return DP_OK;
}

int dp_asn1_prune(const char *type, const uint8_t *der, size_t len, struct dp_buf *out,
		  size_t *dropped)
{
	const struct module *m;
	uint32_t node;
	int r = lookup(type, &m, &node);
	if (r)
		return r;
	return do_prune(m, node, type, der, len, false, out, dropped);
}

/* Where the completeness walk is, as a chain on the stack: a member name, or the number of
 * an element of a SEQUENCE OF. Only turned into text ("a.b.?2.c") for an error message. */
struct path {
	const struct path *up;
	const char *name; /* NULL: element number `index` */
	size_t index;
};

/* "?<i>", the libtasn1 name of element i of a SEQUENCE OF (cap >= 22). */
static void element_name(size_t i, char *out)
{
	char digits[21];
	size_t n = 0;
	do {
		digits[n++] = (char)('0' + i % 10);
		i /= 10;
	} while (i != 0);
	*out++ = '?';
	while (n > 0)
		*out++ = digits[--n];
	*out = '\0';
}

static size_t path_format(const struct path *p, char *buf, size_t cap)
{
	char idx[24];
	size_t len = p->up != NULL ? path_format(p->up, buf, cap) : 0;
	const char *seg = p->name;
	if (seg == NULL) {
		element_name(p->index, idx);
		seg = idx;
	}
	int w = snprintf(buf + len, cap - len, "%s%s", len ? "." : "", seg);
	if (w < 0 || (size_t)w >= cap - len)
		return cap - 1;
	return len + (size_t)w;
}

/* The two refusals of the walk, out of line so that the recursion's frames stay small. */
static int missing_member(const struct path *p)
{
	char text[512];
	path_format(p, text, sizeof(text));
	return dp_err_set(DP_ERR_ASN1_DECODE, "mandatory member '%s' is missing", text);
}

static int no_alternative(const struct path *p, const char *type_name)
{
	char text[512] = "";
	if (p != NULL)
		path_format(p, text, sizeof(text));
	return dp_err_set(DP_ERR_ASN1_DECODE, "CHOICE '%s' has no alternative",
			  p != NULL   ? text
			  : type_name ? type_name
				      : "");
}

/* The child `name` of a node of a decoded tree, NULL when absent. asn1_find_node() takes a
 * path whose first step names the node itself, unless the node is the unnamed root: one
 * step down from here instead of the whole path from the root. */
static asn1_node_const child_of(asn1_node_const node, const char *name)
{
	asn1_data_node_st d;
	char full[2 * ASN1_MAX_NAME_SIZE + 2];
	if (node == NULL || asn1_read_node_value(node, &d) != ASN1_SUCCESS)
		return NULL;
	if (d.name == NULL || d.name[0] == '\0')
		return asn1_find_node(node, name);
	size_t a = strlen(d.name), b = strlen(name);
	if (a + 1 + b >= sizeof(full))
		return NULL;
	memcpy(full, d.name, a);
	full[a] = '.';
	memcpy(full + a + 1, name, b + 1);
	return asn1_find_node(node, full);
}

/* dp_asn1_present() for a node already found. */
static bool node_present(asn1_node_const n)
{
	asn1_data_node_st d;
	if (n == NULL || asn1_read_node_value(n, &d) != ASN1_SUCCESS)
		return false;
	switch (d.type) {
	case ASN1_ETYPE_SEQUENCE:
	case ASN1_ETYPE_SET:
	case ASN1_ETYPE_SEQUENCE_OF:
	case ASN1_ETYPE_SET_OF:
		return true; /* structured: absent OPTIONALs are removed from the tree */
	default: {
		/* a named node is the first step of its own path */
		int len = 0;
		int rc = asn1_read_value(n, d.name ? d.name : "", NULL, &len);
		return rc == ASN1_SUCCESS || rc == ASN1_MEM_ERROR;
	}
	}
}

/* libtasn1 accepts a SEQUENCE whose content is empty even when it has mandatory members;
 * after decoding, every mandatory member is checked for presence, driven by the schema.
 * The walk goes down the decoded tree beside the schema, node by node (`value` is the
 * node of definition `def`, `where` its path for messages). */
static int check_complete(const struct module *m, uint32_t def, asn1_node_const value,
			  const struct path *where, int depth)
{
	int n_explicit, r;
	uint32_t base = structure_of(m, def, &n_explicit);
	if (base == NO_NODE || depth > MAX_DEPTH)
		return DP_OK;
	switch (NODE_TYPE(m->tab[base].type)) {
	case ASN1_ETYPE_SEQUENCE:
	case ASN1_ETYPE_SET:
		for (uint32_t mem = first_member(m, base); mem != NO_NODE;
		     mem = next_member(m, mem)) {
			struct path here = { where, m->tab[mem].name, 0 };
			bool optional = (m->tab[mem].type & (F_OPTION | F_DEFAULT)) != 0;
			asn1_node_const child = child_of(value, m->tab[mem].name);
			if (!node_present(child)) {
				if (!optional)
					return missing_member(&here);
				continue;
			}
			r = check_complete(m, mem, child, &here, depth + 1);
			if (r)
				return r;
		}
		break;
	case ASN1_ETYPE_SEQUENCE_OF:
	case ASN1_ETYPE_SET_OF: {
		uint32_t elem = sequence_of_element(m, base);
		char name[24];
		if (elem == NO_NODE)
			break;
		/* elements are the children ?1, ?2, ... in order: each is the right sibling of the
		 * one before, the first step of a lookup from it */
		element_name(1, name);
		asn1_node_const e = child_of(value, name);
		for (size_t i = 1; e != NULL; i++) {
			struct path here = { where, NULL, i };
			r = check_complete(m, elem, e, &here, depth + 1);
			if (r)
				return r;
			element_name(i + 1, name);
			e = asn1_find_node(e, name);
		}
		break;
	}
	case ASN1_ETYPE_CHOICE: {
		asn1_data_node_st d;
		char alt[ASN1_MAX_NAME_SIZE + 1];
		int l = sizeof(alt) - 1;
		if (asn1_read_node_value(value, &d) != ASN1_SUCCESS ||
		    asn1_read_value(value, d.name ? d.name : "", alt, &l) != ASN1_SUCCESS)
			return no_alternative(where, m->tab[base].name);
		alt[l < (int)sizeof(alt) ? l : (int)sizeof(alt) - 1] = '\0';
		for (uint32_t a = first_member(m, base); a != NO_NODE; a = next_member(m, a)) {
			if (strcmp(m->tab[a].name, alt) == 0) {
				struct path here = { where, m->tab[a].name, 0 };
				r = check_complete(m, a, child_of(value, alt), &here, depth + 1);
				if (r)
					return r;
				break;
			}
		}
		break;
	}
	default: break;
	}
	return DP_OK;
}

/* Dry tolerance pass first: when it finds nothing to drop (the usual case), the bytes it
 * would write are the input itself (strict DER: every header it rewrites was minimal as
 * received, every other byte is copied), so libtasn1 decodes the input in place. Only a
 * value with unknown members is copied, without them. */
static int decode(const char *type, const uint8_t *der, size_t len, bool exact,
		  asn1_node *out)
{
	const struct module *m;
	uint32_t node;
	struct dp_buf pruned;
	char desc[ASN1_MAX_ERROR_DESCRIPTION_SIZE] = "";
	size_t dropped = 0;
	*out = NULL;

	dp_buf_init(&pruned, len + 16);
	int r = lookup(type, &m, &node);
	if (r)
		goto out;
	r = do_prune(m, node, type, der, len, exact, NULL, &dropped);
	if (r)
		goto out;
	const uint8_t *data = der;
	size_t dlen_all = len;
	if (dropped > 0) {
		r = do_prune(m, node, type, der, len, exact, &pruned, &dropped);
		if (r)
			goto out;
		data = pruned.data;
		dlen_all = pruned.len;
	}
	r = create_node(m, node, type, out);
	if (r)
		goto out;
	int dlen = (int)dlen_all;
	int rc = asn1_der_decoding2(out, data, &dlen, ASN1_DECODE_FLAG_STRICT_DER, desc);
	if (rc != ASN1_SUCCESS) {
		r = dp_err_set(DP_ERR_ASN1_DECODE, "%s: %s%s%s", type, asn1_strerror(rc),
			       desc[0] ? ": " : "", desc);
		goto out;
	}
	if ((size_t)dlen != dlen_all) {
		r = dp_err_set(DP_ERR_DER_TRAILING, "%s: %zu bytes left after decoding", type,
			       dlen_all - (size_t)dlen);
		goto out;
	}
	r = check_complete(m, node, *out, NULL, 0);
	if (r)
		r = dp_err_wrap(r, "%s", type);
out:
	if (r)
		dp_asn1_free(out);
	dp_buf_deinit(&pruned);
	return r;
}

int dp_asn1_decode(const char *type, const uint8_t *der, size_t len, asn1_node *out)
{
	return decode(type, der, len, false, out);
}

int dp_asn1_decode_exact(const char *type, const uint8_t *der, size_t len, asn1_node *out)
{
	return decode(type, der, len, true, out);
}

int dp_asn1_pe_alternative(uint32_t tag, const char **alt)
{
	int r = dp_asn1_init();
	if (r)
		return r;
	uint8_t hdr[4];
	size_t n = 0;
	for (int shift = 24; shift > 0; shift -= 8) {
		if (tag >> shift)
			hdr[n++] = (uint8_t)(tag >> shift);
	}
	hdr[n++] = (uint8_t)tag;
	/* parse the tag bytes with the TLV reader's rules by appending a zero length */
	uint8_t tlv[5];
	memcpy(tlv, hdr, n);
	tlv[n] = 0;
	struct dp_tlv t;
	r = dp_tlv_read(tlv, n + 1, &t);
	if (r)
		return r;
	for (size_t i = 0; i < n_pe_alts; i++) {
		if (pe_alts[i].cls == t.cls && pe_alts[i].number == t.number) {
			*alt = pe_alts[i].name;
			return DP_OK;
		}
	}
	return dp_err_set(DP_ERR_NOT_FOUND, "tag %X is not a ProfileElement", tag);
}

int dp_asn1_decode_pe(const uint8_t *der, size_t len, asn1_node *out, const char **alt)
{
	struct dp_tlv t;
	*out = NULL;
	int r = dp_asn1_init();
	if (r)
		return r;
	r = dp_tlv_read(der, len, &t);
	if (r)
		return dp_err_wrap(r, "ProfileElement");
	for (size_t i = 0; i < n_pe_alts; i++) {
		if (pe_alts[i].cls == t.cls && pe_alts[i].number == t.number) {
			r = dp_asn1_decode(pe_alts[i].wrapper, der, len, out);
			if (r == DP_OK)
				*alt = pe_alts[i].name;
			return r;
		}
	}
	return dp_err_set(DP_ERR_ASN1_DECODE, "ProfileElement: tag %X is not a known element",
			  t.tag);
}

int dp_asn1_encode(asn1_node_const node, const char *field, struct dp_buf *out)
{
	char desc[ASN1_MAX_ERROR_DESCRIPTION_SIZE] = "";
	int len = 0;
	int rc = asn1_der_coding(node, field, NULL, &len, desc);
	if (rc != ASN1_MEM_ERROR && rc != ASN1_SUCCESS)
		return dp_err_set(DP_ERR_ASN1_ENCODE, "'%s': %s%s%s", field, asn1_strerror(rc),
				  desc[0] ? ": " : "", desc);
	int r = dp_buf_reserve(out, (size_t)len);
	if (r)
		return r;
	int room = len;
	rc = asn1_der_coding(node, field, out->data + out->len, &room, desc);
	if (rc != ASN1_SUCCESS)
		return dp_err_set(DP_ERR_ASN1_ENCODE, "'%s': %s%s%s", field, asn1_strerror(rc),
				  desc[0] ? ": " : "", desc);
	out->len += (size_t)room;
	return DP_OK;
}

void dp_asn1_free(asn1_node *node)
{
	if (node != NULL && *node != NULL)
		asn1_delete_structure(node);
}

bool dp_asn1_present(asn1_node_const node, const char *field)
{
	return node_present(field[0] ? asn1_find_node(node, field) : node);
}

int dp_asn1_read(asn1_node_const node, const char *field, uint8_t *buf, size_t cap,
		 size_t *len)
{
	int l = cap > INT32_MAX ? INT32_MAX : (int)cap;
	int rc = asn1_read_value(node, field, buf, &l);
	if (rc == ASN1_MEM_ERROR)
		return dp_err_set(DP_ERR_TOO_LONG, "'%s' has %d bytes, room for %zu", field, l, cap);
	if (rc != ASN1_SUCCESS)
		return tasn1_error(rc, "reading", field, NULL);
	*len = (size_t)l;
	return DP_OK;
}

int dp_asn1_read_buf(asn1_node_const node, const char *field, struct dp_buf *out)
{
	int l = 0;
	int rc = asn1_read_value(node, field, NULL, &l);
	if (rc == ASN1_SUCCESS)
		return DP_OK; /* empty value */
	if (rc != ASN1_MEM_ERROR)
		return tasn1_error(rc, "reading", field, NULL);
	int r = dp_buf_reserve(out, (size_t)l);
	if (r)
		return r;
	size_t got;
	r = dp_asn1_read(node, field, out->data + out->len, (size_t)l, &got);
	if (r)
		return r;
	out->len += got;
	return DP_OK;
}

int dp_asn1_read_str(asn1_node_const node, const char *field, char *buf, size_t cap)
{
	size_t len;
	if (cap == 0)
		return dp_err_set(DP_ERR_INVAL, "no room");
	int r = dp_asn1_read(node, field, (uint8_t *)buf, cap - 1, &len);
	if (r)
		return r;
	/* libtasn1 NUL-terminates some types itself; never trust embedded NULs */
	if (memchr(buf, '\0', len) != NULL && strlen(buf) + 1 != len)
		return dp_err_set(DP_ERR_ASN1_VALUE, "'%s' contains a NUL byte", field);
	buf[len] = '\0';
	return DP_OK;
}

int dp_asn1_read_uint(asn1_node_const node, const char *field, uint64_t *v)
{
	uint8_t b[16];
	size_t len;
	int r = dp_asn1_read(node, field, b, sizeof(b), &len);
	if (r == DP_ERR_TOO_LONG)
		return dp_err_set(DP_ERR_ASN1_VALUE, "'%s' is larger than 64 bits", field);
	if (r)
		return r;
	if (len == 0 || (b[0] & 0x80))
		return dp_err_set(DP_ERR_ASN1_VALUE, "'%s' is negative or empty", field);
	size_t i = 0;
	while (i < len - 1 && b[i] == 0)
		i++;
	if (len - i > 8)
		return dp_err_set(DP_ERR_ASN1_VALUE, "'%s' is larger than 64 bits", field);
	uint64_t x = 0;
	for (; i < len; i++)
		x = x << 8 | b[i];
	*v = x;
	return DP_OK;
}

int dp_asn1_read_bool(asn1_node_const node, const char *field, bool *v)
{
	char s[8];
	int r = dp_asn1_read_str(node, field, s, sizeof(s));
	if (r)
		return r;
	if (strcmp(s, "TRUE") == 0)
		*v = true;
	else if (strcmp(s, "FALSE") == 0)
		*v = false;
	else
		return dp_err_set(DP_ERR_ASN1_VALUE, "'%s' is not a BOOLEAN", field);
	return DP_OK;
}

int dp_asn1_read_bits(asn1_node_const node, const char *field, uint8_t *buf, size_t cap,
		      size_t *nbits)
{
	int l = cap > INT32_MAX / 8 ? INT32_MAX : (int)(cap * 8);
	int rc = asn1_read_value(node, field, buf, &l);
	if (rc == ASN1_MEM_ERROR)
		return dp_err_set(DP_ERR_TOO_LONG, "'%s' has %d bits, room for %zu", field, l,
				  cap * 8);
	if (rc != ASN1_SUCCESS)
		return tasn1_error(rc, "reading", field, NULL);
	*nbits = (size_t)l;
	return DP_OK;
}

int dp_asn1_read_choice(asn1_node_const node, const char *field, char *name, size_t cap)
{
	return dp_asn1_read_str(node, field, name, cap);
}

int dp_asn1_count(asn1_node_const node, const char *field, size_t *n)
{
	int num = 0;
	int rc = asn1_number_of_elements(node, field, &num);
	if (rc != ASN1_SUCCESS)
		return tasn1_error(rc, "counting", field, NULL);
	*n = (size_t)num;
	return DP_OK;
}

int dp_asn1_write(asn1_node node, const char *field, const void *v, size_t len)
{
	if (len > INT32_MAX)
		return dp_err_set(DP_ERR_TOO_LONG, "'%s': %zu bytes", field, len);
	/* libtasn1 reads len 0 as "NUL-terminated"; an empty value needs a non-NULL pointer */
	int rc = asn1_write_value(node, field, len ? v : "", (int)len);
	if (rc != ASN1_SUCCESS)
		return tasn1_error(rc, "writing", field, NULL);
	return DP_OK;
}

int dp_asn1_write_str(asn1_node node, const char *field, const char *s)
{
	return dp_asn1_write(node, field, s, strlen(s));
}

int dp_asn1_write_uint(asn1_node node, const char *field, uint64_t v)
{
	uint8_t b[9];
	size_t n = 0;
	b[n++] = 0;
	for (int shift = 56; shift >= 0; shift -= 8)
		b[n++] = (uint8_t)(v >> shift);
	/* minimal two's complement: drop leading zeros while the next byte has bit 7 clear */
	size_t i = 0;
	while (i < n - 1 && b[i] == 0 && !(b[i + 1] & 0x80))
		i++;
	int rc = asn1_write_value(node, field, b + i, (int)(n - i));
	if (rc != ASN1_SUCCESS)
		return tasn1_error(rc, "writing", field, NULL);
	return DP_OK;
}

int dp_asn1_write_bool(asn1_node node, const char *field, bool v)
{
	int rc = asn1_write_value(node, field, v ? "TRUE" : "FALSE", 1);
	if (rc != ASN1_SUCCESS)
		return tasn1_error(rc, "writing", field, NULL);
	return DP_OK;
}

int dp_asn1_write_bits(asn1_node node, const char *field, const uint8_t *bits, size_t nbits)
{
	if (nbits > INT32_MAX)
		return dp_err_set(DP_ERR_TOO_LONG, "'%s': %zu bits", field, nbits);
	int rc = asn1_write_value(node, field, nbits ? (const void *)bits : "", (int)nbits);
	if (rc != ASN1_SUCCESS)
		return tasn1_error(rc, "writing", field, NULL);
	return DP_OK;
}

int dp_asn1_choose(asn1_node node, const char *field, const char *alt)
{
	int rc = asn1_write_value(node, field, alt, 1);
	if (rc != ASN1_SUCCESS)
		return tasn1_error(rc, "choosing", field, alt);
	return DP_OK;
}

int dp_asn1_append(asn1_node node, const char *field)
{
	int rc = asn1_write_value(node, field, "NEW", 1);
	if (rc != ASN1_SUCCESS)
		return tasn1_error(rc, "appending to", field, NULL);
	return DP_OK;
}

int dp_asn1_omit(asn1_node node, const char *field)
{
	int rc = asn1_write_value(node, field, NULL, 0);
	if (rc != ASN1_SUCCESS)
		return tasn1_error(rc, "omitting", field, NULL);
	return DP_OK;
}
