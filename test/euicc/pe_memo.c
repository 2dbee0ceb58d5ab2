/* The test eUICC's process-wide memo of SAIP profile elements that passed the decode
 * (pe_memo.h); SAIP 2.3 section 8, issue 8 (the benchmark's client cost). */
#include "test/euicc/pe_memo.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "pki/asn1/asn1.h"

enum {
	WAYS = 4,
	SETS = DP_EUICC_PE_MEMO_ENTRIES / WAYS,
};

/* One remembered PE: its hash, its bytes (owned) and when it was last used. */
struct entry {
	uint64_t hash;
	size_t len;
	uint8_t *bytes; /* NULL: a free slot */
	uint64_t used;
};

/* Everything below the flag is guarded by lock. */
static atomic_bool enabled;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry table[SETS][WAYS];
static struct dp_euicc_pe_memo_stats stats;
static uint64_t tick;
static atomic_bool collide;

/* FNV-1a, 64 bits: cheap and spreads the TS.48 PEs well; collisions only cost a decode. */
static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
	if (atomic_load_explicit(&collide, memory_order_relaxed))
		return 0;
	uint64_t h = 0xcbf29ce484222325u;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3u;
	}
	return h;
}

static struct entry *set_of(uint64_t hash)
{
	return table[(hash ^ (hash >> 32)) % SETS];
}

/* The entry holding exactly these bytes, or NULL (lock held). */
static struct entry *find(struct entry *set, uint64_t hash, const uint8_t *p, size_t n)
{
	for (int w = 0; w < WAYS; w++)
		if (set[w].bytes != NULL && set[w].hash == hash && set[w].len == n &&
		    memcmp(set[w].bytes, p, n) == 0)
			return &set[w];
	return NULL;
}

/* Remembers a copy of p (lock held): a free way of the set, else the least recently used
 * one. A copy that cannot be made is not remembered. */
static void insert(struct entry *set, uint64_t hash, const uint8_t *p, size_t n)
{
	struct entry *slot = &set[0];
	for (int w = 0; w < WAYS; w++) {
		if (set[w].bytes == NULL) {
			slot = &set[w];
			break;
		}
		if (set[w].used < slot->used)
			slot = &set[w];
	}
	uint8_t *copy = malloc(n);
	if (copy == NULL)
		return;
	memcpy(copy, p, n);
	if (slot->bytes != NULL) {
		stats.entries--;
		stats.bytes -= slot->len;
		free(slot->bytes);
	}
	*slot = (struct entry){.hash = hash, .len = n, .bytes = copy, .used = ++tick};
	stats.entries++;
	stats.bytes += n;
}

void dp_euicc_pe_memo_enable(bool on)
{
	pthread_mutex_lock(&lock);
	if (!on) {
		for (int s = 0; s < SETS; s++)
			for (int w = 0; w < WAYS; w++) {
				free(table[s][w].bytes);
				table[s][w] = (struct entry){0};
			}
		stats = (struct dp_euicc_pe_memo_stats){0};
		tick = 0;
	}
	atomic_store(&enabled, on);
	pthread_mutex_unlock(&lock);
}

bool dp_euicc_pe_memo_enabled(void)
{
	return atomic_load(&enabled);
}

/* The decode itself: the tree is only needed for its verdict. */
static int decode(const uint8_t *der, size_t len)
{
	asn1_node node = NULL;
	const char *alt;
	int r = dp_asn1_decode_pe(der, len, &node, &alt);
	dp_asn1_free(&node);
	return r;
}

int dp_euicc_pe_check(const uint8_t *der, size_t len)
{
	if (!atomic_load_explicit(&enabled, memory_order_relaxed))
		return decode(der, len);
	if (len == 0 || len > DP_EUICC_PE_MEMO_ENTRY_MAX) { /* never remembered */
		pthread_mutex_lock(&lock);
		stats.decodes++;
		pthread_mutex_unlock(&lock);
		return decode(der, len);
	}
	uint64_t hash = hash_bytes(der, len);
	pthread_mutex_lock(&lock);
	struct entry *hit = find(set_of(hash), hash, der, len);
	if (hit != NULL) {
		hit->used = ++tick;
		stats.hits++;
	} else {
		stats.decodes++;
	}
	pthread_mutex_unlock(&lock);
	if (hit != NULL)
		return DP_OK;
	/* Decoded outside the lock; only a pass is remembered (unless turned off meanwhile,
	 * or another thread remembered the same bytes first). */
	int r = decode(der, len);
	if (r != DP_OK)
		return r;
	pthread_mutex_lock(&lock);
	if (atomic_load(&enabled) && find(set_of(hash), hash, der, len) == NULL)
		insert(set_of(hash), hash, der, len);
	pthread_mutex_unlock(&lock);
	return DP_OK;
}

void dp_euicc_pe_memo_stats(struct dp_euicc_pe_memo_stats *out)
{
	pthread_mutex_lock(&lock);
	*out = stats;
	pthread_mutex_unlock(&lock);
}

void dp_euicc_pe_memo_test_collide(bool on)
{
	atomic_store(&collide, on);
}
