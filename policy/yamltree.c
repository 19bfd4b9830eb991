#include "policy/yamltree.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Deeper nesting than any sane config; bounds recursion on hostile input. */
#define YAMLTREE_MAX_DEPTH	64

struct ybuild {
	yaml_parser_t	 yb_parser;
	const char	*yb_file;
	struct errlist	*yb_el;
	bool		 yb_failed;
};

static struct ynode	*ybuild_node(struct ybuild *, yaml_event_t *, int);

const char *
ynode_type_str(enum ynode_type t)
{
	switch (t) {
	case YN_SCALAR:
		return "a scalar";
	case YN_SEQ:
		return "a list";
	case YN_MAP:
		return "a mapping";
	}
	return "invalid";
}

static struct ynode *
ynode_new(const char *file, enum ynode_type t, const yaml_mark_t *m)
{
	struct ynode	*n;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return NULL;
	n->yn_type = t;
	n->yn_line = (unsigned)m->line + 1;
	n->yn_col = (unsigned)m->column + 1;
	n->yn_file = file;
	return n;
}

void
yamltree_free(struct ynode *n)
{
	size_t	i;

	if (n == NULL)
		return;
	free(n->yn_str);
	for (i = 0; n->yn_items != NULL && i < n->yn_count; i++)
		yamltree_free(n->yn_items[i]);
	for (i = 0; n->yn_pairs != NULL && i < n->yn_count; i++) {
		yamltree_free(n->yn_pairs[i].yp_key);
		yamltree_free(n->yn_pairs[i].yp_val);
	}
	free(n->yn_items);
	free(n->yn_pairs);
	free(n);
}

static void
ybuild_parser_error(struct ybuild *yb)
{
	const yaml_parser_t	*p = &yb->yb_parser;
	const yaml_mark_t	*m = &p->problem_mark;

	if (!yb->yb_failed)
		errlist_add(yb->yb_el, yb->yb_file, (unsigned)m->line + 1,
		    (unsigned)m->column + 1, "YAML: %s%s%s",
		    p->problem ? p->problem : "syntax error",
		    p->context ? " " : "", p->context ? p->context : "");
	yb->yb_failed = true;
}

static int
ybuild_next(struct ybuild *yb, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&yb->yb_parser, ev)) {
		ybuild_parser_error(yb);
		return -1;
	}
	return 0;
}

static int
ynode_push(struct ynode *n, struct ynode *item, struct ynode *val)
{
	if (n->yn_type == YN_SEQ) {
		struct ynode **v = realloc(n->yn_items,
		    (n->yn_count + 1) * sizeof(*v));
		if (v == NULL)
			return -1;
		n->yn_items = v;
		v[n->yn_count++] = item;
	} else {
		struct ypair *v = realloc(n->yn_pairs,
		    (n->yn_count + 1) * sizeof(*v));
		if (v == NULL)
			return -1;
		n->yn_pairs = v;
		v[n->yn_count].yp_key = item;
		v[n->yn_count++].yp_val = val;
	}
	return 0;
}

/* Builds a collection's children until its end event. */
static struct ynode *
ybuild_collection(struct ybuild *yb, struct ynode *n, int depth)
{
	yaml_event_t		 ev;
	yaml_event_type_t	 end = n->yn_type == YN_SEQ ?
	    YAML_SEQUENCE_END_EVENT : YAML_MAPPING_END_EVENT;
	struct ynode		*k, *v;

	for (;;) {
		if (ybuild_next(yb, &ev) == -1)
			goto fail;
		if (ev.type == end) {
			yaml_event_delete(&ev);
			return n;
		}
		if ((k = ybuild_node(yb, &ev, depth + 1)) == NULL)
			goto fail;
		v = NULL;
		if (n->yn_type == YN_MAP) {
			if (k->yn_type != YN_SCALAR) {
				errlist_add(yb->yb_el, yb->yb_file, k->yn_line,
				    k->yn_col, "mapping keys must be scalars");
				yb->yb_failed = true;
				yamltree_free(k);
				goto fail;
			}
			if (ybuild_next(yb, &ev) == -1 ||
			    (v = ybuild_node(yb, &ev, depth + 1)) == NULL) {
				yamltree_free(k);
				goto fail;
			}
		}
		if (ynode_push(n, k, v) == -1) {
			yamltree_free(k);
			yamltree_free(v);
			goto fail;
		}
	}
fail:
	yamltree_free(n);
	return NULL;
}

/* Consumes <ev> (and the events of its children). */
static struct ynode *
ybuild_node(struct ybuild *yb, yaml_event_t *ev, int depth)
{
	struct ynode	*n = NULL;

	if (depth > YAMLTREE_MAX_DEPTH) {
		errlist_add(yb->yb_el, yb->yb_file, (unsigned)ev->start_mark.line
		    + 1, (unsigned)ev->start_mark.column + 1,
		    "nesting deeper than %d levels", YAMLTREE_MAX_DEPTH);
		yb->yb_failed = true;
		yaml_event_delete(ev);
		return NULL;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		if ((n = ynode_new(yb->yb_file, YN_SCALAR, &ev->start_mark)) == NULL)
			break;
		n->yn_str = strndup((const char *)ev->data.scalar.value,
		    ev->data.scalar.length);
		n->yn_quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
		if (n->yn_str == NULL) {
			yamltree_free(n);
			n = NULL;
		} else if (strlen(n->yn_str) != ev->data.scalar.length) {
			errlist_add(yb->yb_el, yb->yb_file, n->yn_line,
			    n->yn_col, "NUL byte in a scalar");
			yb->yb_failed = true;
			yamltree_free(n);
			n = NULL;
		}
		yaml_event_delete(ev);
		return n;
	case YAML_SEQUENCE_START_EVENT:
		n = ynode_new(yb->yb_file, YN_SEQ, &ev->start_mark);
		yaml_event_delete(ev);
		return n ? ybuild_collection(yb, n, depth) : NULL;
	case YAML_MAPPING_START_EVENT:
		n = ynode_new(yb->yb_file, YN_MAP, &ev->start_mark);
		yaml_event_delete(ev);
		return n ? ybuild_collection(yb, n, depth) : NULL;
	case YAML_ALIAS_EVENT:
		errlist_add(yb->yb_el, yb->yb_file,
		    (unsigned)ev->start_mark.line + 1,
		    (unsigned)ev->start_mark.column + 1,
		    "YAML aliases are not supported; write the value out");
		yb->yb_failed = true;
		break;
	default:
		errlist_add(yb->yb_el, yb->yb_file,
		    (unsigned)ev->start_mark.line + 1,
		    (unsigned)ev->start_mark.column + 1,
		    "unexpected YAML structure");
		yb->yb_failed = true;
		break;
	}
	yaml_event_delete(ev);
	return NULL;
}

struct ynode *
yamltree_parse(const char *buf, size_t len, const char *file,
    struct errlist *el)
{
	struct ybuild	 yb;
	yaml_event_t	 ev;
	struct ynode	*root = NULL;
	yaml_mark_t	 zero = { 0, 0, 0 };
	int		 docs = 0;

	memset(&yb, 0, sizeof(yb));
	yb.yb_file = file;
	yb.yb_el = el;
	if (!yaml_parser_initialize(&yb.yb_parser)) {
		errlist_add(el, file, 0, 0, "out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&yb.yb_parser,
	    (const unsigned char *)buf, len);
	for (;;) {
		if (ybuild_next(&yb, &ev) == -1)
			goto fail;
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type == YAML_STREAM_START_EVENT ||
		    ev.type == YAML_DOCUMENT_END_EVENT) {
			yaml_event_delete(&ev);
			continue;
		}
		if (ev.type == YAML_DOCUMENT_START_EVENT) {
			if (++docs > 1) {
				errlist_add(el, file,
				    (unsigned)ev.start_mark.line + 1,
				    (unsigned)ev.start_mark.column + 1,
				    "only one YAML document is allowed");
				yaml_event_delete(&ev);
				goto fail;
			}
			yaml_event_delete(&ev);
			continue;
		}
		if (root != NULL) {
			yaml_event_delete(&ev);
			goto fail;
		}
		if ((root = ybuild_node(&yb, &ev, 0)) == NULL)
			goto fail;
	}
	yaml_parser_delete(&yb.yb_parser);
	if (root == NULL)
		root = ynode_new(file, YN_MAP, &zero);
	if (root == NULL)
		errlist_add(el, file, 0, 0, "out of memory");
	return root;
fail:
	if (!yb.yb_failed)
		errlist_add(el, file, 0, 0, "cannot parse YAML");
	yaml_parser_delete(&yb.yb_parser);
	yamltree_free(root);
	return NULL;
}
