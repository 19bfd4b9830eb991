/*
 * common/secret.h - a credential value held away from everything else:
 * its own pages, left out of core dumps (MADV_DONTDUMP) and locked in
 * memory where the limits allow, wiped before they are given back.
 *
 * The value is what egressd adds to intercepted requests
 * (docs/interception.md); nothing but the request rewrite ever reads it.
 */
#ifndef EGRESS_SECRET_H
#define EGRESS_SECRET_H

#include <stddef.h>
#include <stdint.h>

struct secret;

/*
 * Reads <path> into a new secret, dropping one trailing newline (LF or
 * CRLF).  NULL with the reason in <err> when the file cannot be read, is
 * empty, is larger than 64 KiB, or holds a control character other than
 * tab anywhere else (a header value cannot).
 */
struct secret	*secret_read_file(const char *path, char *err, size_t errlen);
/* A secret holding a copy of <len> bytes at <p>; NULL when out of memory. */
struct secret	*secret_new(const void *p, size_t len);
void		 secret_free(struct secret *s);
const uint8_t	*secret_bytes(const struct secret *s, size_t *len);
/* Constant time in <len>: 1 when <p> holds exactly the secret's bytes. */
int		 secret_equal(const struct secret *s, const void *p, size_t len);

#endif /* EGRESS_SECRET_H */
