/*
 * ctl/table.h - aligned text tables for egressctl's human output.
 *
 * Cells are copied and made safe for a terminal (control bytes become
 * \xNN), because hosts and paths come from sandboxes and may hold
 * anything.  No colours: the output is for eyes, grep and awk alike.
 */
#ifndef EGRESS_CTL_TABLE_H
#define EGRESS_CTL_TABLE_H

#include <stdio.h>

struct ctl_table;

/* A table with <ncols> columns whose header row is <hdr>. */
struct ctl_table	*ctl_table_new(size_t ncols, const char *const *hdr);
void			 ctl_table_free(struct ctl_table *);
/* Appends a row of <ncols> cells; NULL or "" print as "-". */
int			 ctl_table_add(struct ctl_table *,
			    const char *const *cells);
/* Prints the header and every row, columns two spaces apart. */
void			 ctl_table_print(const struct ctl_table *, FILE *);
/*
 * For output that never ends (events --follow): the header, then each row
 * as it comes, padded to <minw> so that short rows still line up.
 */
void			 ctl_table_print_header(const struct ctl_table *,
			    const size_t *minw, FILE *);
void			 ctl_table_print_rows(struct ctl_table *,
			    const size_t *minw, FILE *);
/* Copies <s> with control bytes escaped; the caller frees. */
char			*ctl_term_safe(const char *s);

#endif /* EGRESS_CTL_TABLE_H */
