/*
 * slowopen.c - an LD_PRELOAD shim for bench/expiry.sh: every open(),
 * openat() sleeps SLOWOPEN_US microseconds (default
 * 2000) before it runs.  It simulates the per-open latency of a remote or
 * slow filesystem (NFS, a FUSE mount, a cold disk) without root, FUSE or a
 * network mount; it is a latency simulation, not a filesystem.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

/* The build sets _FILE_OFFSET_BITS=64: glibc's headers then name these
 * open64/openat64, which is what the programs built here call. */

static unsigned delay_us(void)
{
	static int us = -1;

	if (us < 0) {
		const char *s = getenv("SLOWOPEN_US");
		us = s != NULL ? atoi(s) : 2000;
	}
	return (unsigned)us;
}

#define SHIM(name, ...)                                                                    \
	typedef int (*name##_fn)(__VA_ARGS__);                                             \
	static name##_fn real_##name;

SHIM(open, const char *, int, ...)
SHIM(openat, int, const char *, int, ...)

static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t m;

	va_start(ap, flags);
	m = mode_arg(flags, ap);
	va_end(ap);
	if (real_open == NULL)
		*(void **)&real_open = dlsym(RTLD_NEXT, "open");
	usleep(delay_us());
	return real_open(path, flags, m);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t m;

	va_start(ap, flags);
	m = mode_arg(flags, ap);
	va_end(ap);
	if (real_openat == NULL)
		*(void **)&real_openat = dlsym(RTLD_NEXT, "openat");
	usleep(delay_us());
	return real_openat(dirfd, path, flags, m);
}
