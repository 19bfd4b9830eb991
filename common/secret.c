#include "common/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Far above any API key; a bound so that a wrong path cannot eat memory. */
#define SECRET_MAX	65536

struct secret {
	uint8_t	*s_buf;		/* its own mapping */
	size_t	 s_len;
	size_t	 s_maplen;
};

static struct secret *
secret_alloc(size_t len)
{
	struct secret	*s;
	long		 pg = sysconf(_SC_PAGESIZE);
	size_t		 maplen;

	if (pg <= 0)
		pg = 4096;
	maplen = (len + (size_t)pg) / (size_t)pg * (size_t)pg;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->s_buf = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0);
	if (s->s_buf == MAP_FAILED) {
		free(s);
		return NULL;
	}
	s->s_maplen = maplen;
	/* Best effort both: a core dump or swap must not carry it. */
	(void)madvise(s->s_buf, maplen, MADV_DONTDUMP);
	(void)mlock(s->s_buf, maplen);
	return s;
}

void
secret_free(struct secret *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s->s_buf, s->s_maplen);
	(void)munlock(s->s_buf, s->s_maplen);
	munmap(s->s_buf, s->s_maplen);
	free(s);
}

struct secret *
secret_new(const void *p, size_t len)
{
	struct secret	*s;

	if ((s = secret_alloc(len)) == NULL)
		return NULL;
	memcpy(s->s_buf, p, len);
	s->s_len = len;
	return s;
}

/* A header field value: no control byte but HTAB (RFC 9110, 5.5). */
static bool
printable(const uint8_t *p, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
			return false;
	return true;
}

struct secret *
secret_read_file(const char *path, char *err, size_t errlen)
{
	struct secret	*s;
	struct stat	 st;
	ssize_t		 n;
	size_t		 len = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		snprintf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > SECRET_MAX) {
		snprintf(err, errlen, "%s: not a regular file of at most %d "
		    "bytes", path, SECRET_MAX);
		close(fd);
		return NULL;
	}
	/* Read straight into the secret's pages: no copy on the heap. */
	if ((s = secret_alloc(SECRET_MAX)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		close(fd);
		return NULL;
	}
	while (len < SECRET_MAX && (n = read(fd, s->s_buf + len,
	    SECRET_MAX - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "cannot read %s: %s", path,
			    strerror(errno));
			close(fd);
			secret_free(s);
			return NULL;
		}
		len += (size_t)n;
	}
	close(fd);
	if (len > 0 && s->s_buf[len - 1] == '\n')
		len--;
	if (len > 0 && s->s_buf[len - 1] == '\r')
		len--;
	s->s_len = len;
	if (len == 0 || !printable(s->s_buf, len)) {
		snprintf(err, errlen, "%s: %s", path, len == 0 ? "empty" :
		    "the value must be one line of text (no control "
		    "characters but tab)");
		secret_free(s);
		return NULL;
	}
	return s;
}

const uint8_t *
secret_bytes(const struct secret *s, size_t *len)
{
	*len = s->s_len;
	return s->s_buf;
}

int
secret_equal(const struct secret *s, const void *p, size_t len)
{
	if (len != s->s_len)
		return 0;
	return CRYPTO_memcmp(s->s_buf, p, len) == 0;
}
