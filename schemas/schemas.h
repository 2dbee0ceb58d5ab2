/* The ASN.1 definition tables generated from this folder at build time.
 * Only pki/asn1/asn1.c uses them; everything else goes through that wrapper. */
#ifndef DP_SCHEMAS_H
#define DP_SCHEMAS_H

#include <libtasn1.h>

/* rsp_definitions.asn: module RSPDefinitions (SGP.22, with v3 and SGP.32 members). */
extern const asn1_static_node dp_rsp_asn1_tab[];
/* saip_pe_definitions.asn: module PEDefinitions (SAIP 3.3.1) plus PEW-* wrappers. */
extern const asn1_static_node dp_saip_asn1_tab[];

#endif
