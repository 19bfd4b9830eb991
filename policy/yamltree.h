/*
 * policy/yamltree.h - a YAML document as a tree whose every node knows its
 * line and column, so that validation can name the exact spot.
 *
 * Pure code over a buffer (libyaml underneath).  Anchors and aliases are
 * refused: a policy file should read the same to a human as to egressd.
 */
#ifndef EGRESS_YAMLTREE_H
#define EGRESS_YAMLTREE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/errlist.h"

enum ynode_type { YN_SCALAR, YN_SEQ, YN_MAP };

struct ynode;

struct ypair {
	struct ynode	*yp_key;	/* always a scalar */
	struct ynode	*yp_val;
};

struct ynode {
	enum ynode_type	 yn_type;
	unsigned	 yn_line;	/* 1-based */
	unsigned	 yn_col;	/* 1-based */
	const char	*yn_file;	/* borrowed: the file it came from */
	char		*yn_str;	/* YN_SCALAR: owns, NUL-terminated */
	bool		 yn_quoted;	/* YN_SCALAR: not a plain scalar */
	struct ynode	**yn_items;	/* YN_SEQ: owns */
	struct ypair	*yn_pairs;	/* YN_MAP: owns */
	size_t		 yn_count;
};

/*
 * Parses <len> bytes named <file> (for messages).  Returns the root (an
 * empty map for an empty document), or NULL with errors added to <el>.
 */
struct ynode	*yamltree_parse(const char *buf, size_t len, const char *file,
		    struct errlist *el);
void		 yamltree_free(struct ynode *n);
const char	*ynode_type_str(enum ynode_type t);

#endif /* EGRESS_YAMLTREE_H */
