#include "common/errlist.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
errlist_init(struct errlist *el)
{
	memset(el, 0, sizeof(*el));
}

void
errlist_free(struct errlist *el)
{
	size_t	i;

	for (i = 0; i < el->el_count; i++)
		free(el->el_msgs[i]);
	free(el->el_msgs);
	memset(el, 0, sizeof(*el));
}

void
errlist_add(struct errlist *el, const char *file, unsigned line, unsigned col,
    const char *fmt, ...)
{
	char	 msg[1024], *s;
	char	**n;
	va_list	 ap;
	int	 len;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		len = asprintf(&s, "%s:%u:%u: %s", file, line, col, msg);
	else
		len = asprintf(&s, "%s: %s", file, msg);
	if (len < 0)
		return;
	if (el->el_count == el->el_cap) {
		size_t cap = el->el_cap ? el->el_cap * 2 : 8;
		if ((n = realloc(el->el_msgs, cap * sizeof(*n))) == NULL) {
			free(s);
			return;
		}
		el->el_msgs = n;
		el->el_cap = cap;
	}
	el->el_msgs[el->el_count++] = s;
}
