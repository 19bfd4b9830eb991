/*
 * proxy/phantom.h - the sandboxes' phantom tokens (docs/interception.md)
 * as the data path reads them.  A sandbox's SDK presents its token where
 * the API key would go; egressd swaps in the real secret only for a
 * request that presents it.  The daemon owns the tokens (persisted in
 * state_dir) and sets them here; workers check them.  Thread-safe.
 */
#ifndef EGRESS_PHANTOM_H
#define EGRESS_PHANTOM_H

#include <stddef.h>
#include <stdint.h>

#define PHANTOM_LEN	32	/* bytes of randomness: 256 bits */
#define PHANTOM_HEX	(2 * PHANTOM_LEN)	/* as the client sends it */

struct phantoms;

struct phantoms	*phantoms_new(void);
void		 phantoms_free(struct phantoms *pt);
/* Sets <id>'s token, <hex> PHANTOM_HEX lower-case hex digits (NULL:
 * removes it).  0, or -1 when out of memory or not a token. */
int		 phantoms_set(struct phantoms *pt, const char *id,
		    const char *hex);
/*
 * 1 when <cred> (<len> bytes, as the client sent it) is <id>'s token,
 * compared in constant time; 0 otherwise, and when <id> has none.
 */
int		 phantoms_check(struct phantoms *pt, const char *id,
		    const uint8_t *cred, size_t len);

#endif /* EGRESS_PHANTOM_H */
