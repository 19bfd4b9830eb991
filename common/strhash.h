/*
 * common/strhash.h - FNV-1a over strings, for the hash tables of the
 * policy, the DNS cache, the audit counters and the connections.
 */
#ifndef EGRESS_STRHASH_H
#define EGRESS_STRHASH_H

#include <stddef.h>
#include <stdint.h>

#define STRHASH_INIT	0xcbf29ce484222325ULL

/* Continues hash <h> over <len> bytes of <s>. */
static inline uint64_t
strhash_n(uint64_t h, const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Continues hash <h> over NUL-terminated <s> (NULL hashes as ""). */
static inline uint64_t
strhash(uint64_t h, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

#endif /* EGRESS_STRHASH_H */
