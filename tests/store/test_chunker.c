/*
 * tests/store/test_chunker.c - FastCDC boundaries (store/chunker.c).
 *
 * Properties: boundaries are a function of the bytes only (not of how they
 * are fed), sizes stay in [min, max], the mean is near avg, and an insert
 * near the start changes only the chunks around it.
 */
#include "helpers.h"
#include "store_i.h"

#include <stdlib.h>
#include <string.h>

#define D_MIN (64u * KiB)
#define D_AVG (256u * KiB)
#define D_MAX (1u * MiB)

/* Chunk lengths, in order. */
struct cuts {
	size_t n, cap;
	size_t *len;
};

static void cuts_add(struct cuts *c, size_t len)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		c->len = realloc(c->len, c->cap * sizeof(*c->len));
		assert_non_null(c->len);
	}
	c->len[c->n++] = len;
}

static void cuts_release(struct cuts *c)
{
	free(c->len);
	memset(c, 0, sizeof(*c));
}

/* Chunks buf[0..len) feeding at most piece bytes per call. */
static void chunk_all(const uint8_t *buf, size_t len, size_t piece,
		      uint32_t min, uint32_t avg, uint32_t max,
		      struct cuts *out)
{
	struct chunker c;
	size_t off = 0, cur = 0;

	memset(out, 0, sizeof(*out));
	chunker_init(&c, min, avg, max);
	while (off < len) {
		size_t end = len - off < piece ? len : off + piece;

		while (off < end) {
			bool cut = false;
			size_t n = chunker_feed(&c, buf + off, end - off, &cut);

			assert_true(n <= end - off);
			assert_true(n > 0 || cut);
			off += n;
			cur += n;
			if (cut) {
				assert_true(cur > 0);
				cuts_add(out, cur);
				cur = 0;
			}
		}
	}
	if (cur)
		cuts_add(out, cur);
}

static void assert_cuts_equal(const struct cuts *a, const struct cuts *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++)
		assert_int_equal(a->len[i], b->len[i]);
}

static void assert_cuts_bounded(const struct cuts *c, size_t total,
				uint32_t min, uint32_t max)
{
	size_t sum = 0;

	assert_true(c->n > 0);
	for (size_t i = 0; i < c->n; i++) {
		if (i + 1 < c->n)
			assert_in_range(c->len[i], min, max);
		else
			assert_in_range(c->len[i], 1, max);
		sum += c->len[i];
	}
	assert_int_equal(sum, total);
}

/* The chunker written plainly, one byte at a time, as the format defines
 * it (the gear table, the masks, the skip of the first min bytes): the
 * cuts of every version must stay these, or old stores stop deduping. */
static uint64_t ref_gear[256];

static uint64_t ref_top_mask(unsigned bits)
{
	return bits ? ((1ULL << bits) - 1) << (64 - bits) : 0;
}

static void ref_chunk_all(const uint8_t *buf, size_t len, uint32_t min,
			  uint32_t avg, uint32_t max, struct cuts *out)
{
	uint64_t x = 0x61727469666163ULL, ms, ml;
	unsigned bits = 0;

	for (int i = 0; i < 256; i++) {
		uint64_t z = (x += 0x9E3779B97F4A7C15ULL);

		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
		z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
		ref_gear[i] = z ^ (z >> 31);
	}
	while ((1U << (bits + 1)) <= avg)
		bits++;
	ms = ref_top_mask(bits + 2);
	ml = ref_top_mask(bits > 2 ? bits - 2 : 1);
	memset(out, 0, sizeof(*out));
	for (size_t start = 0; start < len;) {
		size_t n = len - start < max ? len - start : max, cut = n;
		uint64_t h = 0;

		for (size_t i = min; i < n; i++) {
			h = (h << 1) + ref_gear[buf[start + i]];
			if (!(h & (i < avg ? ms : ml))) {
				cut = i + 1;
				break;
			}
		}
		cuts_add(out, cut);
		start += cut;
	}
}

static void test_chunker_feed_matches_bytewise_reference(void **state)
{
	const size_t len = 8 * MiB + 3;
	uint8_t *buf = rand_buf(5, len);
	const size_t pieces[] = {len, 1 * MiB, 4093, 7};
	struct cuts want, got;

	(void)state;
	ref_chunk_all(buf, len, D_MIN, D_AVG, D_MAX, &want);
	assert_true(want.n > 4);
	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		chunk_all(buf, len, pieces[i], D_MIN, D_AVG, D_MAX, &got);
		assert_cuts_equal(&want, &got);
		cuts_release(&got);
	}
	cuts_release(&want);
	/* Small sizes: many cuts, each ending anywhere in a 4-byte step. */
	ref_chunk_all(buf, 1 * MiB, T_CHUNK_MIN, T_CHUNK_AVG, T_CHUNK_MAX,
		      &want);
	for (size_t i = 1; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		chunk_all(buf, 1 * MiB, pieces[i], T_CHUNK_MIN, T_CHUNK_AVG,
			  T_CHUNK_MAX, &got);
		assert_cuts_equal(&want, &got);
		cuts_release(&got);
	}
	cuts_release(&want);
	free(buf);
}

static void test_chunker_feed_deterministic(void **state)
{
	const size_t len = 8 * MiB;
	uint8_t *buf = rand_buf(1, len);
	struct cuts a, b;

	(void)state;
	chunk_all(buf, len, len, D_MIN, D_AVG, D_MAX, &a);
	chunk_all(buf, len, len, D_MIN, D_AVG, D_MAX, &b);
	assert_true(a.n > 4);
	assert_cuts_equal(&a, &b);
	cuts_release(&a);
	cuts_release(&b);
	free(buf);
}

static void test_chunker_feed_sizes_within_bounds(void **state)
{
	const size_t len = 16 * MiB + 12345;
	uint8_t *buf = rand_buf(2, len);
	uint8_t *zero = calloc(1, len);
	struct cuts c;

	(void)state;
	assert_non_null(zero);
	chunk_all(buf, len, len, D_MIN, D_AVG, D_MAX, &c);
	assert_cuts_bounded(&c, len, D_MIN, D_MAX);
	cuts_release(&c);

	/* The small test sizes too. */
	chunk_all(buf, len, len, T_CHUNK_MIN, T_CHUNK_AVG, T_CHUNK_MAX, &c);
	assert_cuts_bounded(&c, len, T_CHUNK_MIN, T_CHUNK_MAX);
	cuts_release(&c);

	/* No content-defined cut in zeros: max still bounds every chunk. */
	chunk_all(zero, len, len, D_MIN, D_AVG, D_MAX, &c);
	assert_cuts_bounded(&c, len, D_MIN, D_MAX);
	cuts_release(&c);

	/* Less than min is one chunk. */
	chunk_all(buf, D_MIN - 1, D_MIN - 1, D_MIN, D_AVG, D_MAX, &c);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.len[0], D_MIN - 1);
	cuts_release(&c);
	free(zero);
	free(buf);
}

static void test_chunker_feed_average_near_avg(void **state)
{
	const size_t len = 32 * MiB;
	uint8_t *buf = rand_buf(3, len);
	struct cuts c;
	double mean;

	(void)state;
	chunk_all(buf, len, len, D_MIN, D_AVG, D_MAX, &c);
	/* The last chunk is cut by the end of data, not by content. */
	mean = (double)(len - c.len[c.n - 1]) / (double)(c.n - 1);
	print_message("32 MiB: %zu chunks, mean %.0f (avg %u)\n", c.n, mean,
		      D_AVG);
	assert_true(mean >= D_AVG / 2.0);
	assert_true(mean <= D_AVG * 2.0);
	cuts_release(&c);

	chunk_all(buf, len, len, T_CHUNK_MIN, T_CHUNK_AVG, T_CHUNK_MAX, &c);
	mean = (double)(len - c.len[c.n - 1]) / (double)(c.n - 1);
	print_message("32 MiB: %zu chunks, mean %.0f (avg %u)\n", c.n, mean,
		      T_CHUNK_AVG);
	assert_true(mean >= T_CHUNK_AVG / 2.0);
	assert_true(mean <= T_CHUNK_AVG * 2.0);
	cuts_release(&c);
	free(buf);
}

static void test_chunker_feed_piece_size_independent(void **state)
{
	static const size_t pieces[] = {
	    1, 3, 1000, 4096, 65535, 65536, 100 * KiB, 1 * MiB + 1,
	};
	const size_t len = 6 * MiB + 77;
	uint8_t *buf = rand_buf(4, len);
	struct cuts whole, c;

	(void)state;
	chunk_all(buf, len, len, D_MIN, D_AVG, D_MAX, &whole);
	assert_true(whole.n > 4);
	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		chunk_all(buf, len, pieces[i], D_MIN, D_AVG, D_MAX, &c);
		assert_cuts_equal(&whole, &c);
		cuts_release(&c);
	}
	cuts_release(&whole);

	/* Small sizes cut much more often, so exercise them too. */
	chunk_all(buf, len, len, T_CHUNK_MIN, T_CHUNK_AVG, T_CHUNK_MAX, &whole);
	chunk_all(buf, len, 1, T_CHUNK_MIN, T_CHUNK_AVG, T_CHUNK_MAX, &c);
	assert_cuts_equal(&whole, &c);
	cuts_release(&c);
	chunk_all(buf, len, 4097, T_CHUNK_MIN, T_CHUNK_AVG, T_CHUNK_MAX, &c);
	assert_cuts_equal(&whole, &c);
	cuts_release(&c);
	cuts_release(&whole);
	free(buf);
}

/* SHA-256 of each chunk of buf, in order. */
static uint8_t (*chunk_ids(const uint8_t *buf, const struct cuts *c))[32]
{
	uint8_t(*ids)[32] = calloc(c->n, 32);
	size_t off = 0;

	assert_non_null(ids);
	for (size_t i = 0; i < c->n; i++) {
		assert_int_equal(store_digest_buf(buf + off, c->len[i], ids[i]),
				 0);
		off += c->len[i];
	}
	return ids;
}

static size_t count_missing(uint8_t (*a)[32], size_t na, uint8_t (*b)[32],
			    size_t nb)
{
	size_t missing = 0;

	for (size_t i = 0; i < na; i++) {
		bool found = false;

		for (size_t j = 0; j < nb && !found; j++)
			found = !memcmp(a[i], b[j], 32);
		missing += !found;
	}
	return missing;
}

static void test_chunker_feed_insert_shifts_few_chunks(void **state)
{
	const size_t len = 16 * MiB, at = 1000, ins = 100;
	uint8_t *a = rand_buf(5, len);
	uint8_t *b = malloc(len + ins);
	uint8_t(*ia)[32], (*ib)[32];
	struct cuts ca, cb;
	size_t miss_a, miss_b, same_tail = 0;

	(void)state;
	assert_non_null(b);
	memcpy(b, a, at);
	memset(b + at, 0xa5, ins);
	memcpy(b + at + ins, a + at, len - at);

	chunk_all(a, len, len, D_MIN, D_AVG, D_MAX, &ca);
	chunk_all(b, len + ins, len + ins, D_MIN, D_AVG, D_MAX, &cb);
	assert_true(ca.n > 20);
	ia = chunk_ids(a, &ca);
	ib = chunk_ids(b, &cb);

	miss_a = count_missing(ia, ca.n, ib, cb.n);
	miss_b = count_missing(ib, cb.n, ia, ca.n);
	while (same_tail < ca.n && same_tail < cb.n &&
	       !memcmp(ia[ca.n - 1 - same_tail], ib[cb.n - 1 - same_tail], 32))
		same_tail++;
	print_message("%zu/%zu chunks, %zu/%zu differ, common tail %zu\n", ca.n,
		      cb.n, miss_a, miss_b, same_tail);
	assert_in_range(miss_a, 1, 3);
	assert_in_range(miss_b, 1, 3);
	assert_true(same_tail + 3 >= ca.n);
	assert_true(same_tail + 3 >= cb.n);

	free(ia);
	free(ib);
	cuts_release(&ca);
	cuts_release(&cb);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chunker_feed_deterministic),
	    cmocka_unit_test(test_chunker_feed_matches_bytewise_reference),
	    cmocka_unit_test(test_chunker_feed_sizes_within_bounds),
	    cmocka_unit_test(test_chunker_feed_average_near_avg),
	    cmocka_unit_test(test_chunker_feed_piece_size_independent),
	    cmocka_unit_test(test_chunker_feed_insert_shifts_few_chunks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
