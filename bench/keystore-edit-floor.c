/*
 * keystore-edit-floor.c - the least work an edit of a JKS keystore can do,
 * the floor `mtlskit keystore add-trusted/remove` is measured against
 * (bench/keystore.sh scale): read the file, check its integrity digest (SHA-1
 * of the password as UTF-16BE, "Mighty Aphrodite" and the body), then replace
 * it atomically and durably with a file of the same body and a digest taken
 * afresh: a temporary beside it, written, fsync'd, linked and renamed over
 * the store, the directory fsync'd.  No entry is parsed, nothing is changed:
 * what is left is the cost of the format (two digests over the whole file)
 * and of replacing a file of that size safely on this disk.
 *
 *   keystore-edit-floor STORE PASSWORD   (an ASCII password)
 */
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

static int digest(const char *pw, const unsigned char *p, size_t n, unsigned char d[20])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha1(), NULL) == 1;

	for (const char *c = pw; ok && *c; c++) {
		unsigned char u[2] = {0, (unsigned char)*c};
		ok = EVP_DigestUpdate(md, u, 2) == 1;
	}
	ok = ok && EVP_DigestUpdate(md, "Mighty Aphrodite", 16) == 1 &&
	     EVP_DigestUpdate(md, p, n) == 1 && EVP_DigestFinal_ex(md, d, NULL) == 1;
	EVP_MD_CTX_free(md);
	return ok;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			return 0;
		p += w;
		n -= (size_t)w;
	}
	return 1;
}

int main(int argc, char **argv)
{
	char tmp[4096], copy[4096], proc[64];
	const char *where;
	unsigned char d[20], *b;
	struct stat st;
	size_t n;
	int fd, t, dir;

	if (argc != 3) {
		fprintf(stderr, "usage: keystore-edit-floor STORE PASSWORD\n");
		return 2;
	}
	if ((fd = open(argv[1], O_RDONLY)) < 0 || fstat(fd, &st) != 0 || st.st_size < 32) {
		perror(argv[1]);
		return 1;
	}
	n = (size_t)st.st_size;
	snprintf(copy, sizeof(copy), "%s", argv[1]);
	where = dirname(copy); /* the temporary is made beside the store */
	if ((b = malloc(n)) == NULL || read(fd, b, n) != (ssize_t)n)
		return 1;
	close(fd);
	if (!digest(argv[2], b, n - 20, d) || memcmp(d, b + n - 20, 20) != 0) {
		fprintf(stderr, "%s: digest does not match\n", argv[1]);
		return 1;
	}
	if ((t = open(where, O_TMPFILE | O_RDWR, 0600)) < 0 || !write_all(t, b, n - 20) ||
	    !digest(argv[2], b, n - 20, d) || !write_all(t, d, 20) || fsync(t) != 0)
		return 1;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", t);
	snprintf(tmp, sizeof(tmp), "%s.floor-tmp", argv[1]);
	if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) != 0 ||
	    rename(tmp, argv[1]) != 0)
		return 1;
	if ((dir = open(where, O_RDONLY | O_DIRECTORY)) >= 0) {
		fsync(dir);
		close(dir);
	}
	close(t);
	free(b);
	return 0;
}
