#include "ctl/table.h"

#include <stdlib.h>
#include <string.h>

#define COL_GAP	2

struct ctl_table {
	size_t	  t_ncols;
	char	**t_cells;	/* owns; (t_nrows + 1) * t_ncols, header 1st */
	size_t	  t_nrows;	/* rows after the header */
	size_t	  t_cap;	/* rows t_cells has room for, header included */
};

char *
ctl_term_safe(const char *s)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p;
	char			*out, *o;

	if (s == NULL || *s == '\0')
		s = "-";
	if ((out = malloc(strlen(s) * 4 + 1)) == NULL)
		return NULL;
	for (o = out, p = (const unsigned char *)s; *p != '\0'; p++) {
		/* ESC and friends would let a hostile name drive the tty. */
		if (*p < 0x20 || *p == 0x7f) {
			*o++ = '\\';
			*o++ = 'x';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		} else
			*o++ = (char)*p;
	}
	*o = '\0';
	return out;
}

/* Columns on screen: UTF-8 continuation bytes take none. */
static size_t
text_width(const char *s)
{
	size_t	w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

struct ctl_table *
ctl_table_new(size_t ncols, const char *const *hdr)
{
	struct ctl_table	*t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->t_ncols = ncols;
	if (ctl_table_add(t, hdr) == -1) {
		free(t);
		return NULL;
	}
	/* ctl_table_add counted the header as a row. */
	t->t_nrows = 0;
	return t;
}

static void
clear_rows(struct ctl_table *t)
{
	size_t	i;

	for (i = t->t_ncols; i < (t->t_nrows + 1) * t->t_ncols; i++) {
		free(t->t_cells[i]);
		t->t_cells[i] = NULL;
	}
	t->t_nrows = 0;
}

void
ctl_table_free(struct ctl_table *t)
{
	size_t	i;

	if (t == NULL)
		return;
	clear_rows(t);
	for (i = 0; i < t->t_ncols; i++)
		free(t->t_cells[i]);
	free(t->t_cells);
	free(t);
}

int
ctl_table_add(struct ctl_table *t, const char *const *cells)
{
	size_t	  used = t->t_cells == NULL ? 0 : t->t_nrows + 1, i;
	char	**nc;

	if (used == t->t_cap) {
		t->t_cap = t->t_cap == 0 ? 16 : t->t_cap * 2;
		nc = reallocarray(t->t_cells, t->t_cap * t->t_ncols,
		    sizeof(*nc));
		if (nc == NULL)
			return -1;
		t->t_cells = nc;
	}
	for (i = 0; i < t->t_ncols; i++) {
		t->t_cells[used * t->t_ncols + i] = ctl_term_safe(cells[i]);
		if (t->t_cells[used * t->t_ncols + i] == NULL) {
			while (i-- > 0)
				free(t->t_cells[used * t->t_ncols + i]);
			return -1;
		}
	}
	t->t_nrows = used;
	return 0;
}

static void
print_row(const struct ctl_table *t, size_t row, const size_t *w, FILE *f)
{
	const char	*s;
	size_t		 i, pad;

	for (i = 0; i < t->t_ncols; i++) {
		s = t->t_cells[row * t->t_ncols + i];
		fputs(s, f);
		/* No trailing blanks after the last column. */
		if (i + 1 == t->t_ncols)
			break;
		for (pad = text_width(s); pad < w[i] + COL_GAP; pad++)
			fputc(' ', f);
	}
	fputc('\n', f);
}

static size_t *
widths(const struct ctl_table *t)
{
	size_t	*w, r, i, cw;

	if ((w = calloc(t->t_ncols, sizeof(*w))) == NULL)
		return NULL;
	for (r = 0; r <= t->t_nrows; r++)
		for (i = 0; i < t->t_ncols; i++) {
			cw = text_width(t->t_cells[r * t->t_ncols + i]);
			if (cw > w[i])
				w[i] = cw;
		}
	return w;
}

void
ctl_table_print(const struct ctl_table *t, FILE *f)
{
	size_t	*w, r;

	if ((w = widths(t)) == NULL)
		return;
	for (r = 0; r <= t->t_nrows; r++)
		print_row(t, r, w, f);
	free(w);
}

void
ctl_table_print_header(const struct ctl_table *t, const size_t *minw,
    FILE *f)
{
	print_row(t, 0, minw, f);
}

void
ctl_table_print_rows(struct ctl_table *t, const size_t *minw, FILE *f)
{
	size_t	r;

	for (r = 1; r <= t->t_nrows; r++)
		print_row(t, r, minw, f);
	clear_rows(t);
}
