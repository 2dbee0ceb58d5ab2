/* Helpers shared by the pki crypto suites: named vectors from test/data/pki/vectors.txt,
 * SGP.26 files from ../shared, temp folders. */
#ifndef DP_TEST_PKI_H
#define DP_TEST_PKI_H

#include <time.h>

#include "test/support/support.h"

#include "pki/crypto/cert.h"

/* The bytes of vector `name` in test/data/pki/vectors.txt (made by make_vectors.py) or
 * test/data/pki/pysim-vectors.txt. */
void pki_vec(const char *name, struct dp_buf *out);
/* A certificate / key under ../shared/sgp26 (fails the test when it cannot be loaded). */
struct dp_cert *pki_sgp26_cert(const char *rel);
EVP_PKEY *pki_sgp26_key(const char *rel);
/* A fresh folder under $TMPDIR (static storage) and its recursive removal. */
const char *pki_tmpdir(void);
void pki_rmdir(const char *dir);
/* UTC time from "YYYY-MM-DD". */
time_t pki_date(const char *ymd);

#endif
