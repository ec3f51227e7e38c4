/*
 * replay.c - runs a libFuzzer target over every file of its corpus, so the
 * corpus is a regression test under any compiler.  Prints TAP.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int failed = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	d = opendir(argv[1]);
	if (d == NULL) {
		printf("1..1\nnot ok 1 - corpus directory %s is missing\n", argv[1]);
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof(*names));
			if (names == NULL)
				return 2;
		}
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	if (n == 0) {
		printf("1..1\nnot ok 1 - corpus %s is empty\n", argv[1]);
		return 1;
	}
	qsort(names, n, sizeof(*names), by_name);
	printf("1..%zu\n", n);
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		FILE *fp;
		uint8_t *buf = NULL;
		long len;

		snprintf(path, sizeof(path), "%s/%s", argv[1], names[i]);
		fp = fopen(path, "rb");
		if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 || (len = ftell(fp)) < 0 ||
		    fseek(fp, 0, SEEK_SET) != 0) {
			printf("not ok %zu - %s: unreadable\n", i + 1, names[i]);
			failed = 1;
			if (fp)
				fclose(fp);
			continue;
		}
		/* Exactly sized heap copy so ASan catches any over-read. */
		buf = malloc(len ? (size_t)len : 1);
		if (buf == NULL || fread(buf, 1, (size_t)len, fp) != (size_t)len) {
			printf("not ok %zu - %s: short read\n", i + 1, names[i]);
			failed = 1;
		} else {
			LLVMFuzzerTestOneInput(buf, (size_t)len);
			printf("ok %zu - %s\n", i + 1, names[i]);
		}
		fflush(stdout);
		free(buf);
		fclose(fp);
		free(names[i]);
	}
	free(names);
	return failed;
}
