/*
 * usermap.c - times mtk_usermap_parse (what a gateway start or SIGHUP
 * reload spends on the user map) over a generated map held in memory.
 *
 * Usage: usermap [LINES [RUNS [SUBJECT_EVERY]]]   (defaults 100000 15 20)
 * The map: LINES entries, each "userN  role_a,role_b  sha256:AB:CD:..."
 * (the colon form `openssl x509 -fingerprint -sha256` prints), every
 * SUBJECT_EVERY-th one "subject:CN=...,O=..." instead, a comment line every
 * 1000 entries.  Prints the median and the fastest parse in ms, ns per line,
 * and checks a sample of lookups so a broken index cannot look fast.
 * RUNS=1 is the mode for `valgrind --tool=callgrind` (bench/usermap.sh).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mtlskit/gateway.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t next(void)
{
	/* xorshift64*: a fixed sequence, so every run parses the same map */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1Dull;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	long lines = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
	long runs = argc > 2 ? strtol(argv[2], NULL, 10) : 15;
	long subj_every = argc > 3 ? strtol(argv[3], NULL, 10) : 20;
	size_t cap = (size_t)lines * 200 + 64, len = 0;
	char *map = malloc(cap);
	uint8_t (*fps)[32] = calloc((size_t)lines, 32);
	double *t = calloc((size_t)(runs > 0 ? runs : 1), sizeof(double));
	mtk_usermap *m = NULL;
	mtk_err err = {0};
	long found = 0, probes = 0;

	if (lines <= 0 || runs <= 0 || subj_every <= 0 || map == NULL || fps == NULL || t == NULL) {
		fprintf(stderr, "usage: usermap [LINES [RUNS [SUBJECT_EVERY]]]\n");
		return 2;
	}
	len += (size_t)snprintf(map + len, cap - len, "# generated: %ld entries\n", lines);
	for (long i = 0; i < lines; i++) {
		if (i % 1000 == 999)
			len += (size_t)snprintf(map + len, cap - len, "# block %ld\n", i / 1000);
		len += (size_t)snprintf(map + len, cap - len, "user%ld  role_a,role_b  ", i);
		if (i % subj_every == subj_every - 1) {
			len += (size_t)snprintf(map + len, cap - len,
						"subject:CN=host%ld.example.com,OU=Unit %ld,O=Example Corp,C=US\n", i,
						(long)(next() % 1000));
			continue;
		}
		for (int k = 0; k < 32; k += 8) {
			uint64_t v = next();
			for (int j = 0; j < 8; j++)
				fps[i][k + j] = (uint8_t)(v >> (8 * j));
		}
		len += (size_t)snprintf(map + len, cap - len, "sha256:");
		for (int k = 0; k < 32; k++)
			len += (size_t)snprintf(map + len, cap - len, k ? ":%02X" : "%02X", fps[i][k]);
		map[len++] = '\n';
	}
	for (long r = 0; r < runs; r++) {
		double t0 = now_ms();
		if (mtk_usermap_parse("bench.map", (const uint8_t *)map, len, &m, &err) != MTK_OK) {
			fprintf(stderr, "parse failed: %s\n", err.detail);
			return 1;
		}
		t[r] = now_ms() - t0;
		if (r + 1 < runs) {
			mtk_usermap_free(m);
			m = NULL;
		}
	}
	for (long i = 0; i < lines; i += 97) {
		if (i % subj_every == subj_every - 1)
			continue;
		probes++;
		found += mtk_usermap_lookup(m, fps[i], NULL, NULL) != NULL;
	}
	if (mtk_usermap_count(m) != (size_t)lines || found != probes) {
		fprintf(stderr, "wrong map: %zu entries, %ld of %ld lookups found\n", mtk_usermap_count(m), found,
			probes);
		return 1;
	}
	qsort(t, (size_t)runs, sizeof(double), cmp_double);
	printf("usermap_parse lines=%ld bytes=%zu runs=%ld median_ms=%.2f min_ms=%.2f ns_per_line=%.0f\n", lines,
	       len, runs, t[runs / 2], t[0], t[runs / 2] * 1e6 / (double)lines);
	mtk_usermap_free(m);
	free(map);
	free(fps);
	free(t);
	return 0;
}
