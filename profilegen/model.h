/* The YAML model of one ProfileElement: a table of every PE type's members (names as in
 * the ASN.1 module) drives both directions, YAML -> DER and DER -> YAML. Internal. */
#ifndef DP_PROFILEGEN_MODEL_H
#define DP_PROFILEGEN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "pki/base/buf.h"
#include "profilegen/yamldoc.h"

/* Encodes the PE `alt` described by the YAML node v (a mapping of its members) into der
 * (appended). Errors name the YAML line and field. */
int dp_pg_pe_build(struct dp_pg_ydoc *y, const char *alt, yaml_node_t *v,
		   struct dp_buf *der) DP_WUR;
/* Appends the YAML list item ("  - <alt>:\n ...", at `indent`) describing one PE TLV. Fails
 * when the PE does not decode or a member cannot be named (the caller writes raw:). */
int dp_pg_pe_dump(const uint8_t *der, size_t len, int indent, struct dp_buf *out) DP_WUR;
/* true when alt is a PE alternative the model describes. */
int dp_pg_pe_known(const char *alt);

/* Readable EF contents (efcontent.c): the USIM's EF.SPN and EF.SMSP (pe_alt usim or
 * opt-iot). dp_pg_ef_kind names the codec for a File member, DP_PG_EF_NONE for hex. */
enum { DP_PG_EF_NONE, DP_PG_EF_SPN, DP_PG_EF_SMSP };
int dp_pg_ef_kind(const char *pe_alt, const char *member);
/* A fillFileContent/fillPattern value given as a mapping (SPN) or a list of records
 * (SMSP) -> the content bytes (appended). Errors name the YAML line and field. */
int dp_pg_ef_build(struct dp_pg_ydoc *y, int kind, yaml_node_t *v, struct dp_buf *out) DP_WUR;
/* Content bytes -> YAML lines at `indent` (the value after "key:\n"), appended only when
 * building them back gives the same bytes; otherwise fails and the caller writes hex.
 * record_len: the EF's record length from its fileDescriptor (0 if unknown). */
int dp_pg_ef_dump(int kind, const uint8_t *b, size_t n, size_t record_len, int indent,
		  struct dp_buf *out) DP_WUR;

struct dp_pg_metadata;
/* Reads the top-level `metadata:` mapping v into m (metadata.c); `base_dir` resolves a
 * relative icon path. Errors name the YAML line and field. */
int dp_pg_metadata_parse(struct dp_pg_ydoc *y, yaml_node_t *v, const char *base_dir,
			 struct dp_pg_metadata *m) DP_WUR;

#endif
