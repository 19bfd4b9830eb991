/*
 * egressctl - command-line client of egressd's admin API (docs/egressctl.md, docs/admin.md).
 *
 * Every command is one HTTP request (events --follow repeats one), and
 * the exit code says whose fault a failure is: the server's refusal (1),
 * the command line (2), the way to the server (3), or the server's
 * answer (4).  Scripts branch on that, so each path ends in one of them.
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl/http_client.h"
#include "ctl/table.h"

#define DEFAULT_SOCKET		"/run/egressd/admin.sock"
#define DEFAULT_TIMEOUT_S	10
/* Longest path we build: /api/v1/... plus escaped ids and hosts. */
#define PATH_MAX_LEN		4096
/* Events asked for on each --follow poll: more per second are missed. */
#define FOLLOW_WINDOW		1000
/* Events --follow shows from before it started, as tail -f does. */
#define FOLLOW_BACKLOG		10
#define LIMIT_MAX		100000
#define TOKEN_MAX		4096

enum exit_code {
	EXIT_OK = 0,
	EXIT_REFUSED = 1,	/* the server answered 4xx/5xx */
	EXIT_USAGE = 2,		/* bad command line, unreadable token file */
	EXIT_UNREACHABLE = 3,	/* no connection, or no answer in time */
	EXIT_BAD_RESPONSE = 4,	/* an answer that is not what the API says */
	EXIT_INTERNAL = 5,	/* egressctl itself failed (out of memory) */
	EXIT_STOPPED = -1	/* internal: SIGINT during --follow */
};

static int
ctl_oom(void)
{
	fprintf(stderr, "egressctl: out of memory\n");
	return EXIT_INTERNAL;
}

struct ctl {
	struct ctl_target	 c_t;
	bool			 c_json;
	char			*c_token;	/* owns */
	char			*c_url;		/* owns; host, port point in */
	char			*c_prefix;	/* owns */
};

struct cmd {
	const char	*cm_name;
	const char	*cm_args;
	const char	*cm_help;
	int		(*cm_run)(struct ctl *, const struct cmd *, int,
			    char **);
};

static const struct cmd	*cmd_find(const char *);

static void
usage_short(FILE *f)
{
	fprintf(f, "usage: egressctl [-s SOCKET | -u URL] [-t TOKEN_FILE] "
	    "[--json] COMMAND [ARGS]\n"
	    "       egressctl help [COMMAND]\n");
}

static void
cmd_usage(const struct cmd *cm, FILE *f)
{
	fprintf(f, "usage: egressctl [options] %s%s%s\n", cm->cm_name,
	    cm->cm_args[0] != '\0' ? " " : "", cm->cm_args);
}

static int
usage_error(const struct cmd *cm, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
usage_error(const struct cmd *cm, const char *fmt, ...)
{
	va_list	ap;

	fputs("egressctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cm != NULL)
		cmd_usage(cm, stderr);
	else
		usage_short(stderr);
	return EXIT_USAGE;
}

static void
print_json(const json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
	    JSON_ENCODE_ANY);
	fputc('\n', stdout);
}

/*
 * Prints the first line of a non-JSON body, made safe: it is a hint at
 * what answered (a web server on the wrong port), not data.
 */
static void
print_body_hint(const struct ctl_response *r)
{
	char	*line, *nl, *safe;

	if (r->cr_len == 0 || (line = strdup(r->cr_body)) == NULL)
		return;
	if ((nl = strpbrk(line, "\r\n")) != NULL)
		*nl = '\0';
	if (strlen(line) > 200)
		line[200] = '\0';
	if ((safe = ctl_term_safe(line)) != NULL)
		fprintf(stderr, "egressctl: the body began: %s\n", safe);
	free(safe);
	free(line);
}

static void
print_server_error(const struct ctl *c, const struct ctl_response *r)
{
	json_t		*j, *e, *v;
	json_error_t	 je;
	size_t		 i;
	char		*safe;

	j = json_loadb(r->cr_body, r->cr_len, 0, &je);
	e = json_is_object(j) ? json_object_get(j, "error") : NULL;
	if (json_is_string(e)) {
		safe = ctl_term_safe(json_string_value(e));
		fprintf(stderr, "egressctl: %s\n", safe ? safe : "?");
		free(safe);
		/* A rejected reload lists each config error on its own line. */
		json_array_foreach(json_object_get(j, "errors"), i, v) {
			if (!json_is_string(v))
				continue;
			safe = ctl_term_safe(json_string_value(v));
			fprintf(stderr, "%s\n", safe ? safe : "?");
			free(safe);
		}
	} else {
		fprintf(stderr, "egressctl: %s answered HTTP %d\n",
		    c->c_t.ct_name, r->cr_status);
		print_body_hint(r);
	}
	json_decref(j);
}

/*
 * One request: <body> (if any) is sent as JSON, and a 2xx JSON answer is
 * returned in <out> (owned by the caller).  Returns an exit code, having
 * printed the reason for anything but EXIT_OK and EXIT_STOPPED.
 */
static int
api(struct ctl *c, const char *method, const char *path, const json_t *body,
    json_t **out)
{
	struct ctl_response	 r;
	enum ctl_http_result	 hr;
	json_error_t		 je;
	char			 err[512], *b = NULL;
	int			 rc;

	*out = NULL;
	if (body != NULL && (b = json_dumps(body, JSON_COMPACT)) == NULL) {
		return ctl_oom();
	}
	hr = ctl_http_request(&c->c_t, method, path, b, &r, err, sizeof(err));
	free(b);
	switch (hr) {
	case CTL_HTTP_OK:
		break;
	case CTL_HTTP_INTERRUPTED:
		return EXIT_STOPPED;
	case CTL_HTTP_UNREACHABLE:
		fprintf(stderr, "egressctl: %s\n", err);
		return EXIT_UNREACHABLE;
	case CTL_HTTP_BAD_RESPONSE:
		fprintf(stderr, "egressctl: %s\n", err);
		return EXIT_BAD_RESPONSE;
	}
	if (r.cr_status < 200 || r.cr_status > 299) {
		print_server_error(c, &r);
		rc = EXIT_REFUSED;
	} else if ((*out = json_loadb(r.cr_body, r.cr_len, 0, &je)) == NULL) {
		fprintf(stderr, "egressctl: bad response from %s for %s %s: "
		    "not JSON (%s)\n", c->c_t.ct_name, method, path, je.text);
		print_body_hint(&r);
		rc = EXIT_BAD_RESPONSE;
	} else
		rc = EXIT_OK;
	ctl_response_free(&r);
	return rc;
}

static int
bad_shape(const struct ctl *c, const char *what, json_t *j)
{
	fprintf(stderr, "egressctl: bad response from %s: %s\n",
	    c->c_t.ct_name, what);
	json_decref(j);
	return EXIT_BAD_RESPONSE;
}

static char	*jtext(const json_t *);

/* An array's items as text with <sep> between; NULL when empty. */
static char *
jjoin(const json_t *arr, const char *sep)
{
	char	*s = NULL, *n, *es;
	size_t	 len = 0, i;
	json_t	*e;

	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return NULL;
	json_array_foreach(arr, i, e) {
		if ((es = jtext(e)) == NULL && (es = strdup("-")) == NULL) {
			free(s);
			return NULL;
		}
		if ((n = realloc(s, len + strlen(sep) + strlen(es) + 1)) ==
		    NULL) {
			free(es);
			free(s);
			return NULL;
		}
		s = n;
		len += (size_t)sprintf(s + len, "%s%s", i ? sep : "", es);
		free(es);
	}
	return s;
}

/* A JSON value as text for a table cell; NULL for null.  Caller frees. */
static char *
jtext(const json_t *v)
{
	char	*s = NULL;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return strdup(json_string_value(v));
	case JSON_INTEGER:
		if (asprintf(&s, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v)) == -1)
			return NULL;
		return s;
	case JSON_REAL:
		if (asprintf(&s, "%g", json_real_value(v)) == -1)
			return NULL;
		return s;
	case JSON_TRUE:
		return strdup("true");
	case JSON_FALSE:
		return strdup("false");
	case JSON_ARRAY:
		return jjoin(v, ",");
	case JSON_OBJECT:
		return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	case JSON_NULL:
		break;
	}
	return NULL;
}

static char *
jfield(const json_t *obj, const char *key)
{
	const json_t	*v = json_object_get(obj, key);

	return v == NULL ? NULL : jtext(v);
}

static const char *
onoff(const json_t *v)
{
	if (json_is_true(v))
		return "on";
	if (json_is_false(v))
		return "off";
	return "-";
}

/* Appends "/<escaped s>" to <path>. */
static int
path_add(char *path, const char *s)
{
	size_t	len = strlen(path);

	if (len + 2 >= PATH_MAX_LEN)
		return -1;
	path[len] = '/';
	path[len + 1] = '\0';
	return ctl_url_escape(s, path, PATH_MAX_LEN);
}

/* Appends "?k=v" or "&k=v" with <v> escaped; NULL <v> adds nothing. */
static int
query_add(char *path, const char *k, const char *v)
{
	size_t	len = strlen(path);

	if (v == NULL)
		return 0;
	if (len + strlen(k) + 3 >= PATH_MAX_LEN)
		return -1;
	snprintf(path + len, PATH_MAX_LEN - len, "%c%s=",
	    strchr(path, '?') != NULL ? '&' : '?', k);
	return ctl_url_escape(v, path, PATH_MAX_LEN);
}

static int
sandbox_path(const struct cmd *cm, char *path, const char *id,
    const char *tail)
{
	if (*id == '\0')
		return usage_error(cm, "SANDBOX must not be empty");
	snprintf(path, PATH_MAX_LEN, "/api/v1/sandboxes");
	if (path_add(path, id) == -1 ||
	    strlen(path) + strlen(tail) >= PATH_MAX_LEN)
		return usage_error(cm, "SANDBOX is too long");
	strcat(path, tail);
	return EXIT_OK;
}

/* ---- sandboxes ---------------------------------------------------- */

static int
run_sandboxes(struct ctl *c, const struct cmd *cm, int argc, char **argv)
{
	static const char *const hdr[] = { "ID", "SOURCES", "POLICIES",
	    "INTERCEPT", "SOURCE" };
	struct ctl_table	*t;
	json_t			*j, *sb;
	const char		*row[5];
	char			*id, *src, *pol, *from;
	size_t			 i;
	int			 rc;

	if (argc != 0)
		return usage_error(cm, "sandboxes takes no arguments");
	if ((rc = api(c, "GET", "/api/v1/sandboxes", NULL, &j)) != EXIT_OK)
		return rc;
	if (!json_is_array(j))
		return bad_shape(c, "sandboxes: not an array", j);
	if (c->c_json) {
		print_json(j);
		json_decref(j);
		return EXIT_OK;
	}
	if ((t = ctl_table_new(5, hdr)) == NULL)
		goto oom;
	json_array_foreach(j, i, sb) {
		id = jfield(sb, "id");
		src = jfield(sb, "sources");
		pol = jfield(sb, "policies");
		from = jfield(sb, "source");
		row[0] = id;
		row[1] = src;
		row[2] = pol;
		row[3] = onoff(json_object_get(sb, "intercept"));
		row[4] = from;
		rc = ctl_table_add(t, row);
		free(id);
		free(src);
		free(pol);
		free(from);
		if (rc == -1)
			goto oom;
	}
	ctl_table_print(t, stdout);
	ctl_table_free(t);
	json_decref(j);
	return EXIT_OK;
oom:
	ctl_table_free(t);
	json_decref(j);
	return ctl_oom();
}

/* ---- table -------------------------------------------------------- */

/* Without a "rules" array, the egress lists still say what is allowed. */
static int
table_from_egress(struct ctl_table *t, const json_t *net)
{
	static const struct {
		const char	*key, *kind;
	} lists[] = {
		{ "allowed_domains", "allow.hosts" },
		{ "denied_domains", "deny.hosts" },
		{ "allowed_cidrs", "allow.cidrs" },
		{ "denied_cidrs", "deny.cidrs" },
		{ "allowed_ports", "allow.ports" },
		{ "denied_ports", "deny.ports" },
	};
	const json_t	*eg = json_object_get(net, "egress"), *v;
	const char	*row[3];
	char		*pat;
	size_t		 i, k;
	int		 rc;

	for (k = 0; k < sizeof(lists) / sizeof(lists[0]); k++)
		json_array_foreach(json_object_get(eg, lists[k].key), i, v) {
			pat = jtext(v);
			row[0] = lists[k].kind;
			row[1] = pat;
			row[2] = NULL;
			rc = ctl_table_add(t, row);
			free(pat);
			if (rc == -1)
				return -1;
		}
	return 0;
}

static int
print_network(const char *id, const json_t *net)
{
	static const char *const hdr[] = { "KIND", "PATTERN", "FROM" };
	struct ctl_table	*t;
	const json_t		*rules, *r;
	const char		*row[3];
	char			*mode, *pol, *sid, *kind, *pat, *from;
	char			*smode, *spol;
	size_t			 i;
	int			 rc = 0;

	mode = jfield(net, "mode");
	/* Words, not JSON: this line is for the operator's eyes. */
	pol = jjoin(json_object_get(net, "policies"), ", ");
	sid = ctl_term_safe(id);
	smode = ctl_term_safe(mode);
	spol = ctl_term_safe(pol);
	printf("sandbox %s: %s, intercept %s, policies: %s\n",
	    sid ? sid : "?", smode ? smode : "-",
	    onoff(json_object_get(net, "intercept")), spol ? spol : "-");
	free(smode);
	free(spol);
	free(mode);
	free(pol);
	free(sid);
	if ((t = ctl_table_new(3, hdr)) == NULL)
		return -1;
	rules = json_object_get(net, "rules");
	if (json_is_array(rules)) {
		json_array_foreach(rules, i, r) {
			kind = jfield(r, "kind");
			pat = jfield(r, "pattern");
			from = jfield(r, "from");
			row[0] = kind;
			row[1] = pat;
			row[2] = from;
			rc = ctl_table_add(t, row);
			free(kind);
			free(pat);
			free(from);
			if (rc == -1)
				break;
		}
	} else
		rc = table_from_egress(t, net);
	if (rc == 0)
		ctl_table_print(t, stdout);
	ctl_table_free(t);
	return rc;
}

/*
 * The one-SANDBOX commands: METHOD on /api/v1/sandboxes/SANDBOX<tail>,
 * whose answer must be a JSON object (<what> names it in the error).
 */
static int
sandbox_call(struct ctl *c, const struct cmd *cm, int argc, char **argv,
    const char *method, const char *tail, const char *what, json_t **j)
{
	char	path[PATH_MAX_LEN];
	int	rc;

	if (argc != 1)
		return usage_error(cm, argc == 0 ? "missing SANDBOX" :
		    "too many arguments");
	if ((rc = sandbox_path(cm, path, argv[0], tail)) != EXIT_OK)
		return rc;
	if ((rc = api(c, method, path, NULL, j)) != EXIT_OK)
		return rc;
	if (!json_is_object(*j))
		return bad_shape(c, what, *j);
	return EXIT_OK;
}

static int
run_table(struct ctl *c, const struct cmd *cm, int argc, char **argv)
{
	json_t	*j;
	int	 rc;

	if ((rc = sandbox_call(c, cm, argc, argv, "GET", "/network",
	    "network: not an object", &j)) != EXIT_OK)
		return rc;
	if (c->c_json)
		print_json(j);
	else if (print_network(argv[0], j) == -1) {
		json_decref(j);
		return ctl_oom();
	}
	json_decref(j);
	return EXIT_OK;
}

/* ---- allow, deny, unallow, undeny --------------------------------- */

static int
run_hosts(struct ctl *c, const struct cmd *cm, int argc, char **argv)
{
	char		 path[PATH_MAX_LEN], tail[32], *s;
	const char	*done;
	json_t		*body, *hosts, *j;
	int		 i, rc;

	if (argc < 2)
		return usage_error(cm, argc == 0 ? "missing SANDBOX and HOST" :
		    "missing HOST");
	snprintf(tail, sizeof(tail), "/egress/%s", cm->cm_name);
	if ((rc = sandbox_path(cm, path, argv[0], tail)) != EXIT_OK)
		return rc;
	if ((body = json_object()) == NULL || (hosts = json_array()) == NULL ||
	    json_object_set_new(body, "hosts", hosts) == -1)
		goto oom;
	for (i = 1; i < argc; i++)
		/* Hosts go as typed: the server validates and says why not. */
		if (json_array_append_new(hosts, json_string(argv[i])) == -1) {
			fprintf(stderr, "egressctl: HOST \"%s\" is not valid "
			    "UTF-8\n", argv[i]);
			json_decref(body);
			return EXIT_USAGE;
		}
	rc = api(c, "POST", path, body, &j);
	json_decref(body);
	if (rc != EXIT_OK)
		return rc;
	if (!json_is_object(j))
		return bad_shape(c, "network: not an object", j);
	if (c->c_json) {
		print_json(j);
		json_decref(j);
		return EXIT_OK;
	}
	done = strcmp(cm->cm_name, "allow") == 0 ? "allowed" :
	    strcmp(cm->cm_name, "deny") == 0 ? "denied" :
	    strcmp(cm->cm_name, "undeny") == 0 ? "undenied" : "unallowed";
	s = ctl_term_safe(argv[0]);
	printf("%s: %s ", s ? s : "?", done);
	free(s);
	for (i = 1; i < argc; i++) {
		s = ctl_term_safe(argv[i]);
		printf("%s%s", i > 1 ? ", " : "", s ? s : "?");
		free(s);
	}
	printf("\n");
	json_decref(j);
	return EXIT_OK;
oom:
	json_decref(body);
	return ctl_oom();
}

/* ---- enable, disable ---------------------------------------------- */

static int
run_intercept(struct ctl *c, const struct cmd *cm, int argc, char **argv)
{
	char	 tail[32], *s;
	json_t	*j, *v;
	int	 rc;

	snprintf(tail, sizeof(tail), "/egress/%s", cm->cm_name);
	if ((rc = sandbox_call(c, cm, argc, argv, "POST", tail,
	    "network: not an object", &j)) != EXIT_OK)
		return rc;
	if (c->c_json)
		print_json(j);
	else {
		/* Say what the server now has, not what we asked for. */
		v = json_object_get(j, "intercept");
		s = ctl_term_safe(argv[0]);
		printf("%s: intercept %s\n", s ? s : "?", json_is_boolean(v) ?
		    onoff(v) : strcmp(cm->cm_name, "enable") == 0 ? "on" :
		    "off");
		free(s);
	}
	json_decref(j);
	return EXIT_OK;
}

/* ---- explain ------------------------------------------------------ */

static int	opt_value(int, char **, int *, const char *, const char **);

static int
parse_long(const char *s, long lo, long hi, long *out)
{
	char	*ep;
	long	 v;

	if (*s == '\0' || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	v = strtol(s, &ep, 10);
	if (errno != 0 || *ep != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static void
print_field(const char *label, const json_t *obj, const char *key)
{
	char	*v = jfield(obj, key), *s = ctl_term_safe(v);

	printf("  %-7s %s\n", label, s ? s : "-");
	free(v);
	free(s);
}

static int
run_explain(struct ctl *c, const struct cmd *cm, int argc, char **argv)
{
	char		 path[PATH_MAX_LEN], *sb, *host, *port, *act;
	const char	*pos[3], *method = NULL, *dst = NULL, *v;
	json_t		*j, *note;
	long		 p;
	int		 a, r, n = 0, rc;

	for (a = 0; a < argc; a++) {
		if ((r = opt_value(argc, argv, &a, "--method", &v)) == 1)
			method = v;
		else if (r == 0 && (r = opt_value(argc, argv, &a, "--dst",
		    &v)) == 1)
			dst = v;
		else if (r == -1)
			return usage_error(cm, "%s needs a value", argv[a]);
		else if (argv[a][0] == '-' && argv[a][1] == '-')
			return usage_error(cm, "unknown argument \"%s\"",
			    argv[a]);
		else if (n == 3)
			return usage_error(cm, "too many arguments");
		else
			pos[n++] = argv[a];
	}
	if (n < 2)
		return usage_error(cm, "missing SANDBOX or HOST");
	if (pos[0][0] == '\0')
		return usage_error(cm, "SANDBOX must not be empty");
	if (n == 3 && parse_long(pos[2], 1, 65535, &p) == -1)
		return usage_error(cm, "bad PORT \"%s\": 1-65535", pos[2]);
	snprintf(path, sizeof(path), "/api/v1/explain");
	/* A URL goes as url=, so the server reads its scheme and path. */
	if (query_add(path, "sandbox", pos[0]) == -1 ||
	    query_add(path, strstr(pos[1], "://") != NULL ? "url" : "host",
	    pos[1]) == -1 ||
	    query_add(path, "port", n == 3 ? pos[2] : NULL) == -1 ||
	    query_add(path, "method", method) == -1 ||
	    query_add(path, "dst", dst) == -1)
		return usage_error(cm, "arguments too long");
	if ((rc = api(c, "GET", path, NULL, &j)) != EXIT_OK)
		return rc;
	if (!json_is_object(j))
		return bad_shape(c, "explain: not an object", j);
	if (c->c_json) {
		print_json(j);
		json_decref(j);
		return EXIT_OK;
	}
	/* Same shape as egressd --explain, so both read alike. */
	sb = jfield(j, "sandbox");
	host = jfield(j, "host");
	port = jfield(j, "port");
	act = jfield(j, "action");
	{
		char	*sa = ctl_term_safe(sb ? sb : pos[0]);
		char	*sh = ctl_term_safe(host ? host : pos[1]);
		char	*sp = ctl_term_safe(port);
		char	*sx = ctl_term_safe(act);

		printf("%s %s:%s -> %s\n", sa ? sa : "?", sh ? sh : "?",
		    sp ? sp : "?", sx ? sx : "?");
		free(sa);
		free(sh);
		free(sp);
		free(sx);
	}
	/* Older servers send no proto: print only what came. */
	if (json_object_get(j, "proto") != NULL)
		print_field("proto:", j, "proto");
	if (json_is_string(json_object_get(j, "method"))) {
		print_field("method:", j, "method");
		print_field("path:", j, "path");
	}
	if (json_is_string(json_object_get(j, "dst")))
		print_field("dst:", j, "dst");
	print_field("reason:", j, "reason");
	print_field("policy:", j, "policy");
	print_field("rule:", j, "rule");
	note = json_object_get(j, "note");
	if (note != NULL && !json_is_null(note))
		print_field("note:", j, "note");
	free(sb);
	free(host);
	free(port);
	free(act);
	json_decref(j);
	return EXIT_OK;
}

/* ---- events ------------------------------------------------------- */

struct events_opts {
	const char	*eo_sandbox;
	const char	*eo_action;
	long		 eo_limit;	/* 0: the server's default */
	bool		 eo_follow;
};

static const char *const ev_hdr[] = { "TS", "SANDBOX", "ACTION", "REASON",
    "PROTO", "HOST", "METHOD PATH", "SRC -> DST" };
#define EV_COLS	8
/* Follow mode cannot measure rows it has not seen: typical widths. */
static const size_t ev_minw[EV_COLS] = { 24, 10, 6, 18, 5, 24, 12, 0 };

static int
event_row(struct ctl_table *t, const json_t *ev)
{
	char		*f[EV_COLS], *m, *p, *s, *d, *mp = NULL, *sd = NULL;
	const char	*row[EV_COLS];
	size_t		 i;
	int		 rc;

	f[0] = jfield(ev, "ts");
	f[1] = jfield(ev, "sandbox");
	f[2] = jfield(ev, "action");
	f[3] = jfield(ev, "reason");
	f[4] = jfield(ev, "proto");
	f[5] = jfield(ev, "host");
	m = jfield(ev, "method");
	p = jfield(ev, "path");
	s = jfield(ev, "src");
	d = jfield(ev, "dst");
	if (m != NULL || p != NULL)
		if (asprintf(&mp, "%s%s%s", m ? m : "", m && p ? " " : "",
		    p ? p : "") == -1)
			mp = NULL;
	if (s != NULL || d != NULL)
		if (asprintf(&sd, "%s -> %s", s ? s : "-", d ? d : "-") == -1)
			sd = NULL;
	f[6] = mp;
	f[7] = sd;
	for (i = 0; i < EV_COLS; i++)
		row[i] = f[i];
	rc = ctl_table_add(t, row);
	for (i = 0; i < EV_COLS; i++)
		free(f[i]);
	free(m);
	free(p);
	free(s);
	free(d);
	return rc;
}

/* What makes an event itself: docs/audit.md has no event id. */
static char *
event_key(const json_t *ev)
{
	char	*ts = jfield(ev, "ts"), *conn = jfield(ev, "conn");
	char	*act = jfield(ev, "action"), *k;

	if (asprintf(&k, "%s\x1f%s\x1f%s", ts ? ts : "", conn ? conn : "",
	    act ? act : "") == -1)
		k = NULL;
	free(ts);
	free(conn);
	free(act);
	return k;
}

static int
events_path(const struct cmd *cm, char *path, const struct events_opts *o,
    long limit)
{
	char	num[32];
	int	rc;

	if (o->eo_sandbox != NULL) {
		if ((rc = sandbox_path(cm, path, o->eo_sandbox,
		    "/egress/events")) != EXIT_OK)
			return rc;
	} else
		snprintf(path, PATH_MAX_LEN, "/api/v1/events");
	snprintf(num, sizeof(num), "%ld", limit);
	if (query_add(path, "limit", limit > 0 ? num : NULL) == -1 ||
	    query_add(path, "action", o->eo_action) == -1)
		return usage_error(cm, "arguments too long");
	return EXIT_OK;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct seen {
	char	**s_keys;	/* owns; sorted */
	size_t	  s_n;
};

static void
seen_free(struct seen *s)
{
	size_t	i;

	for (i = 0; i < s->s_n; i++)
		free(s->s_keys[i]);
	free(s->s_keys);
	s->s_keys = NULL;
	s->s_n = 0;
}

static bool
seen_has(const struct seen *s, const char *k)
{
	return s->s_n > 0 && bsearch(&k, s->s_keys, s->s_n,
	    sizeof(*s->s_keys), cmp_str) != NULL;
}

static volatile sig_atomic_t	stop_signal;

static void
on_stop_signal(int sig)
{
	stop_signal = sig;
	ctl_http_stop = 1;
}

/* Sleeps <ms> unless SIGINT/SIGTERM arrives; returns -1 if it did. */
static int
nap(int ms)
{
	struct timespec	ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (!ctl_http_stop && nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
	return ctl_http_stop ? -1 : 0;
}

/*
 * Polls once a second and prints what was not printed yet, oldest first.
 * The server sends the newest FOLLOW_WINDOW events; an event is new when
 * its key was not in the previous answer (events only leave the window
 * at the old end, so the previous answer is all we need to remember).
 */
static int
events_follow(struct ctl *c, const struct cmd *cm,
    const struct events_opts *o)
{
	struct sigaction	 sa;
	struct seen		 prev = { NULL, 0 }, cur;
	struct ctl_table	*t = NULL;
	char			 path[PATH_MAX_LEN], *line;
	json_t			*j, *ev;
	size_t			 i, n, show, overlap;
	long			 window;
	bool			 first = true;
	int			 rc;

	window = o->eo_limit > FOLLOW_WINDOW ? o->eo_limit : FOLLOW_WINDOW;
	if ((rc = events_path(cm, path, o, window)) != EXIT_OK)
		return rc;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocked poll() must return to see the flag. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!c->c_json) {
		if ((t = ctl_table_new(EV_COLS, ev_hdr)) == NULL)
			goto oom;
		ctl_table_print_header(t, ev_minw, stdout);
		fflush(stdout);
	}
	for (;;) {
		if ((rc = api(c, "GET", path, NULL, &j)) != EXIT_OK)
			break;
		if (!json_is_array(j)) {
			rc = bad_shape(c, "events: not an array", j);
			break;
		}
		n = json_array_size(j);
		cur.s_n = 0;
		if ((cur.s_keys = calloc(n + 1, sizeof(char *))) == NULL)
			goto oom_j;
		for (i = 0; i < n; i++)
			if ((cur.s_keys[cur.s_n] =
			    event_key(json_array_get(j, i))) != NULL)
				cur.s_n++;
		/* Count how many of the old answer are still here. */
		for (overlap = 0, i = 0; i < cur.s_n; i++)
			if (seen_has(&prev, cur.s_keys[i]))
				overlap++;
		if (!first && prev.s_n > 0 && overlap == 0 &&
		    n >= (size_t)window)
			fprintf(stderr, "egressctl: more than %ld events since "
			    "the last poll; some were not shown\n", window);
		show = first ? (size_t)(o->eo_limit > 0 ? o->eo_limit :
		    FOLLOW_BACKLOG) : n;
		if (show > n)
			show = n;
		/* Newest first from the server; oldest first on screen. */
		for (i = show; i-- > 0;) {
			char	*k;

			ev = json_array_get(j, i);
			if ((k = event_key(ev)) == NULL)
				continue;
			if (!first && seen_has(&prev, k)) {
				free(k);
				continue;
			}
			free(k);
			if (c->c_json) {
				line = json_dumps(ev, JSON_COMPACT |
				    JSON_PRESERVE_ORDER);
				if (line != NULL)
					printf("%s\n", line);
				free(line);
			} else if (event_row(t, ev) == -1) {
				seen_free(&cur);
				goto oom_j;
			}
		}
		if (t != NULL)
			ctl_table_print_rows(t, ev_minw, stdout);
		fflush(stdout);
		json_decref(j);
		qsort(cur.s_keys, cur.s_n, sizeof(*cur.s_keys), cmp_str);
		seen_free(&prev);
		prev = cur;
		first = false;
		if (nap(1000) == -1) {
			rc = EXIT_STOPPED;
			break;
		}
	}
	seen_free(&prev);
	ctl_table_free(t);
	/* Being stopped is how --follow ends. */
	return rc == EXIT_STOPPED ? EXIT_OK : rc;
oom_j:
	json_decref(j);
oom:
	seen_free(&prev);
	ctl_table_free(t);
	return ctl_oom();
}

/* Takes "--name VALUE" or "--name=VALUE" at argv[*i]. */
static int
opt_value(int argc, char **argv, int *i, const char *name,
    const char **val)
{
	size_t	len = strlen(name);

	if (strncmp(argv[*i], name, len) != 0)
		return 0;
	if (argv[*i][len] == '=') {
		*val = argv[*i] + len + 1;
		return 1;
	}
	if (argv[*i][len] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*val = argv[++*i];
	return 1;
}

static int
run_events(struct ctl *c, const struct cmd *cm, int argc, char **argv)
{
	static const char *const actions[] = { "allow", "deny", "end",
	    "error" };
	struct events_opts	 o = { NULL, NULL, 0, false };
	struct ctl_table	*t;
	const char		*v, *name;
	char			 path[PATH_MAX_LEN];
	json_t			*j;
	size_t			 i, n;
	int			 a, r, rc;

	for (a = 0; a < argc; a++) {
		name = NULL;
		if ((r = opt_value(argc, argv, &a, "--sandbox", &v)) == 1) {
			if (*v == '\0')
				return usage_error(cm, "--sandbox: empty");
			o.eo_sandbox = v;
		} else if (r == -1)
			name = "--sandbox";
		else if ((r = opt_value(argc, argv, &a, "--action", &v)) == 1) {
			for (i = 0; i < 4; i++)
				if (strcmp(v, actions[i]) == 0)
					break;
			if (i == 4)
				return usage_error(cm, "--action \"%s\": "
				    "allow, deny, end or error", v);
			o.eo_action = v;
		} else if (r == -1)
			name = "--action";
		else if ((r = opt_value(argc, argv, &a, "--limit", &v)) == 1) {
			if (parse_long(v, 1, LIMIT_MAX, &o.eo_limit) == -1)
				return usage_error(cm, "--limit \"%s\": a "
				    "number from 1 to %d", v, LIMIT_MAX);
		} else if (r == -1)
			name = "--limit";
		else if (strcmp(argv[a], "--follow") == 0 ||
		    strcmp(argv[a], "-f") == 0)
			o.eo_follow = true;
		else
			return usage_error(cm, "events: unknown argument "
			    "\"%s\"", argv[a]);
		if (name != NULL)
			return usage_error(cm, "%s needs a value", name);
	}
	if (o.eo_follow)
		return events_follow(c, cm, &o);
	if ((rc = events_path(cm, path, &o, o.eo_limit)) != EXIT_OK)
		return rc;
	if ((rc = api(c, "GET", path, NULL, &j)) != EXIT_OK)
		return rc;
	if (!json_is_array(j))
		return bad_shape(c, "events: not an array", j);
	if (c->c_json) {
		print_json(j);
		json_decref(j);
		return EXIT_OK;
	}
	if ((t = ctl_table_new(EV_COLS, ev_hdr)) == NULL)
		goto oom;
	/* Oldest first, like a log and like --follow. */
	for (n = json_array_size(j); n-- > 0;)
		if (event_row(t, json_array_get(j, n)) == -1)
			goto oom;
	ctl_table_print(t, stdout);
	ctl_table_free(t);
	json_decref(j);
	return EXIT_OK;
oom:
	ctl_table_free(t);
	json_decref(j);
	return ctl_oom();
}

/* ---- reload, stats, health ---------------------------------------- */

static int
run_reload(struct ctl *c, const struct cmd *cm, int argc, char **argv)
{
	json_t	*j, *g, *w;
	size_t	 i;
	char	*k;
	int	 rc;

	if (argc != 0)
		return usage_error(cm, "reload takes no arguments");
	if ((rc = api(c, "POST", "/api/v1/reload", NULL, &j)) != EXIT_OK)
		return rc;
	if (!json_is_object(j))
		return bad_shape(c, "reload: not an object", j);
	if (c->c_json)
		print_json(j);
	else if (json_is_integer(g = json_object_get(j, "generation")))
		printf("reloaded, generation %" JSON_INTEGER_FORMAT "\n",
		    json_integer_value(g));
	else
		printf("reloaded\n");
	/* Keys that wait for a restart: the reload itself succeeded. */
	if (!c->c_json && json_is_array(w = json_object_get(j, "warnings")))
		for (i = 0; i < json_array_size(w); i++) {
			k = jfield(json_array_get(w, i), "key");
			g = json_object_get(json_array_get(w, i), "message");
			{
				char *sk = ctl_term_safe(k);

				fprintf(stderr, "egressctl: warning: %s %s\n",
				    sk ? sk : "?", json_is_string(g) ?
				    json_string_value(g) : "changed; it "
				    "applies after a restart");
				free(sk);
			}
			free(k);
		}
	json_decref(j);
	return EXIT_OK;
}

struct kv {
	char	**kv_keys;	/* owns */
	char	**kv_vals;	/* owns */
	size_t	  kv_n, kv_cap;
};

static int
flatten(struct kv *kv, const char *prefix, const json_t *obj)
{
	const char	*k;
	json_t		*v;
	char		*key, *val, **nk, **nv;

	json_object_foreach((json_t *)obj, k, v) {
		if (asprintf(&key, "%s%s%s", prefix, *prefix ? "." : "",
		    k) == -1)
			return -1;
		if (json_is_object(v)) {
			int	rc = flatten(kv, key, v);

			free(key);
			if (rc == -1)
				return -1;
			continue;
		}
		if (kv->kv_n == kv->kv_cap) {
			size_t	ncap = kv->kv_cap ? kv->kv_cap * 2 : 32;

			/* The capacity grows only once both arrays have. */
			nk = reallocarray(kv->kv_keys, ncap, sizeof(*nk));
			if (nk != NULL)
				kv->kv_keys = nk;
			nv = reallocarray(kv->kv_vals, ncap, sizeof(*nv));
			if (nv != NULL)
				kv->kv_vals = nv;
			if (nk == NULL || nv == NULL) {
				free(key);
				return -1;
			}
			kv->kv_cap = ncap;
		}
		val = jtext(v);
		kv->kv_keys[kv->kv_n] = key;
		kv->kv_vals[kv->kv_n] = val;
		kv->kv_n++;
	}
	return 0;
}

static int
run_stats(struct ctl *c, const struct cmd *cm, int argc, char **argv)
{
	struct kv	 kv = { NULL, NULL, 0, 0 };
	json_t		*j;
	size_t		 i, w = 0;
	char		*k, *v;
	int		 rc;

	if (argc != 0)
		return usage_error(cm, "stats takes no arguments");
	if ((rc = api(c, "GET", "/api/v1/stats", NULL, &j)) != EXIT_OK)
		return rc;
	if (!json_is_object(j))
		return bad_shape(c, "stats: not an object", j);
	if (c->c_json) {
		print_json(j);
		json_decref(j);
		return EXIT_OK;
	}
	rc = flatten(&kv, "", j);
	for (i = 0; i < kv.kv_n; i++)
		if (strlen(kv.kv_keys[i]) > w)
			w = strlen(kv.kv_keys[i]);
	for (i = 0; rc == 0 && i < kv.kv_n; i++) {
		k = ctl_term_safe(kv.kv_keys[i]);
		v = ctl_term_safe(kv.kv_vals[i]);
		printf("%-*s %s\n", (int)w, k ? k : "?", v ? v : "?");
		free(k);
		free(v);
	}
	for (i = 0; i < kv.kv_n; i++) {
		free(kv.kv_keys[i]);
		free(kv.kv_vals[i]);
	}
	free(kv.kv_keys);
	free(kv.kv_vals);
	json_decref(j);
	if (rc == -1) {
		return ctl_oom();
	}
	return EXIT_OK;
}

/*
 * A GET of a route that answers text, not JSON (/healthz,
 * /api/v1/ca.pem): the 200 answer in <r>, for the caller to free.
 * Returns an exit code, having printed the reason for anything but
 * EXIT_OK.
 */
static int
api_text(struct ctl *c, const char *path, struct ctl_response *r)
{
	enum ctl_http_result	hr;
	char			err[512];

	hr = ctl_http_request(&c->c_t, "GET", path, NULL, r, err, sizeof(err));
	if (hr != CTL_HTTP_OK) {
		fprintf(stderr, "egressctl: %s\n", err);
		return hr == CTL_HTTP_BAD_RESPONSE ? EXIT_BAD_RESPONSE :
		    EXIT_UNREACHABLE;
	}
	if (r->cr_status != 200) {
		print_server_error(c, r);
		ctl_response_free(r);
		return EXIT_REFUSED;
	}
	return EXIT_OK;
}

static int
run_health(struct ctl *c, const struct cmd *cm, int argc, char **argv)
{
	struct ctl_response	 r;
	char			*s;
	int			 rc;

	if (argc != 0)
		return usage_error(cm, "health takes no arguments");
	if ((rc = api_text(c, "/healthz", &r)) != EXIT_OK)
		return rc;
	while (r.cr_len > 0 && (r.cr_body[r.cr_len - 1] == '\n' ||
	    r.cr_body[r.cr_len - 1] == '\r'))
		r.cr_body[--r.cr_len] = '\0';
	s = ctl_term_safe(r.cr_body);
	if (c->c_json)
		printf("{\n  \"status\": \"%s\"\n}\n",
		    strcmp(r.cr_body, "ok") == 0 ? "ok" : "unknown");
	else
		printf("%s\n", s ? s : "?");
	free(s);
	ctl_response_free(&r);
	return EXIT_OK;
}

/* ---- ca, phantom (HTTPS interception) ------------------------------ */

#define PEM_CERT_BEGIN	"-----BEGIN CERTIFICATE-----"

/* Whether <r> is a PEM certificate: printable ASCII lines, nothing else. */
static bool
is_pem_cert(const struct ctl_response *r)
{
	size_t	i;

	if (r->cr_len < sizeof(PEM_CERT_BEGIN) - 1 ||
	    memcmp(r->cr_body, PEM_CERT_BEGIN, sizeof(PEM_CERT_BEGIN) - 1) != 0)
		return false;
	for (i = 0; i < r->cr_len; i++)
		if ((r->cr_body[i] < ' ' || r->cr_body[i] > '~') &&
		    r->cr_body[i] != '\n' && r->cr_body[i] != '\r')
			return false;
	return true;
}

/* The CA the sandboxes must trust, as PEM (for a trust store). */
static int
run_ca(struct ctl *c, const struct cmd *cm, int argc, char **argv)
{
	struct ctl_response	 r;
	json_t			*j;
	int			 rc;

	if (argc != 0)
		return usage_error(cm, "ca takes no arguments");
	if ((rc = api_text(c, "/api/v1/ca.pem", &r)) != EXIT_OK)
		return rc;
	if (!is_pem_cert(&r)) {
		fprintf(stderr, "egressctl: bad response from %s: not a PEM "
		    "certificate\n", c->c_t.ct_name);
		print_body_hint(&r);
		rc = EXIT_BAD_RESPONSE;
	} else if (c->c_json) {
		if ((j = json_pack("{s:s%}", "pem", r.cr_body, r.cr_len)) ==
		    NULL)
			rc = ctl_oom();
		else
			print_json(j);
		json_decref(j);
	} else {
		fwrite(r.cr_body, 1, r.cr_len, stdout);
		if (r.cr_body[r.cr_len - 1] != '\n')
			fputc('\n', stdout);
	}
	ctl_response_free(&r);
	return rc;
}

/* A sandbox's phantom token (--rotate: a new one), one line. */
static int
run_phantom(struct ctl *c, const struct cmd *cm, int argc, char **argv)
{
	const char	*tok;
	char		*args[2];
	json_t		*j;
	bool		 rotate = false;
	int		 i, n = 0, rc;

	for (i = 0; i < argc; i++)
		if (strcmp(argv[i], "--rotate") == 0)
			rotate = true;
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			return usage_error(cm, "unknown argument \"%s\"",
			    argv[i]);
		else if (n < 2)
			args[n++] = argv[i];
		else
			return usage_error(cm, "too many arguments");
	if ((rc = sandbox_call(c, cm, n, args, rotate ? "POST" : "GET",
	    rotate ? "/phantom/rotate" : "/phantom", "phantom: not an object",
	    &j)) != EXIT_OK)
		return rc;
	tok = json_string_value(json_object_get(j, "token"));
	if (tok == NULL || strlen(tok) != 64 ||
	    strspn(tok, "0123456789abcdefABCDEF") != 64)
		return bad_shape(c, "phantom: no token of 64 hex digits", j);
	if (c->c_json)
		print_json(j);
	else
		printf("%s\n", tok);
	json_decref(j);
	return EXIT_OK;
}

/* ---- sandbox delete ------------------------------------------------ */

static int
run_sandbox(struct ctl *c, const struct cmd *cm, int argc, char **argv)
{
	char		 path[PATH_MAX_LEN];
	json_t		*j;
	const char	*what;
	int		 rc;

	if (argc != 2 || strcmp(argv[0], "delete") != 0)
		return usage_error(cm, "usage: sandbox delete ID");
	if ((rc = sandbox_path(cm, path, argv[1], "")) != EXIT_OK)
		return rc;
	if ((rc = api(c, "DELETE", path, NULL, &j)) != EXIT_OK)
		return rc;
	if (c->c_json)
		print_json(j);
	else {
		what = json_string_value(json_object_get(j, "deleted"));
		printf("%s: %s\n", argv[1], what != NULL && strcmp(what,
		    "sandbox") == 0 ? "deleted" : "API changes dropped, the "
		    "config file's sandbox remains");
	}
	json_decref(j);
	return EXIT_OK;
}

/* ---- policies, policy get|put|delete ------------------------------- */

static int
run_policies(struct ctl *c, const struct cmd *cm, int argc, char **argv)
{
	json_t	*j, *e;
	size_t	 i;
	int	 rc;

	if (argc != 0)
		return usage_error(cm, "policies takes no arguments");
	if ((rc = api(c, "GET", "/api/v1/policies", NULL, &j)) != EXIT_OK)
		return rc;
	if (!json_is_array(j))
		return bad_shape(c, "policies: not a list", j);
	if (c->c_json)
		print_json(j);
	else {
		printf("%-24s %-7s %s\n", "NAME", "SOURCE", "SANDBOXES");
		json_array_foreach(j, i, e) {
			char	*n = ctl_term_safe(json_string_value(
			    json_object_get(e, "name")));
			char	*u = json_dumps(json_object_get(e, "sandboxes"),
			    JSON_COMPACT);

			printf("%-24s %-7s %s\n", n != NULL ? n : "?",
			    json_string_value(json_object_get(e, "source")) ?:
			    "?", u != NULL ? u : "[]");
			free(n);
			free(u);
		}
	}
	json_decref(j);
	return EXIT_OK;
}

/* The policy body from FILE ("-": standard input), JSON. */
static json_t *
policy_file(const char *file, int *rc)
{
	json_error_t	 je;
	json_t		*b;

	b = strcmp(file, "-") == 0 ? json_loadf(stdin, 0, &je) :
	    json_load_file(file, 0, &je);
	if (b == NULL) {
		fprintf(stderr, "egressctl: %s:%d: %s\n", file, je.line,
		    je.text);
		*rc = EXIT_USAGE;
	}
	return b;
}

static int
run_policy(struct ctl *c, const struct cmd *cm, int argc, char **argv)
{
	char		 path[PATH_MAX_LEN];
	const char	*how = NULL;
	json_t		*body = NULL, *j;
	int		 rc = EXIT_OK;

	if (argc >= 2 && strcmp(argv[0], "get") == 0 && argc == 2)
		how = "GET";
	else if (argc >= 2 && strcmp(argv[0], "delete") == 0 && argc == 2)
		how = "DELETE";
	else if (argc == 3 && strcmp(argv[0], "put") == 0)
		how = "PUT";
	if (how == NULL || argv[1][0] == '\0' || strchr(argv[1], '/') != NULL)
		return usage_error(cm, "usage: policy get NAME | policy put "
		    "NAME FILE | policy delete NAME");
	if (*how == 'P' && (body = policy_file(argv[2], &rc)) == NULL)
		return rc;
	snprintf(path, sizeof(path), "/api/v1/policies/%s", argv[1]);
	rc = api(c, how, path, body, &j);
	json_decref(body);
	if (rc != EXIT_OK)
		return rc;
	/* get prints the body a put takes; --json the whole answer. */
	if (!c->c_json && *how == 'G' && json_object_get(j, "policy") != NULL)
		print_json(json_object_get(j, "policy"));
	else
		print_json(j);
	json_decref(j);
	return EXIT_OK;
}

/* ---- session set|show|clear --------------------------------------- */

/* The body of "session set SANDBOX TTL_S [HOST...]": only HOSTs, for TTL_S. */
static json_t *
session_body(const struct cmd *cm, int argc, char **argv, int *rc)
{
	char		*ep;
	unsigned long	 ttl;
	json_t		*hosts, *b;
	int		 i;

	ttl = strtoul(argv[2], &ep, 10);
	if (*ep != '\0' || ttl < 1) {
		*rc = usage_error(cm, "TTL_S is a number of seconds");
		return NULL;
	}
	if ((hosts = json_array()) == NULL) {
		*rc = ctl_oom();
		return NULL;
	}
	for (i = 3; i < argc; i++)
		json_array_append_new(hosts, json_string(argv[i]));
	b = json_pack("{s:s,s:{s:o},s:I}", "mode", "block-all", "egress",
	    "allowed_domains", hosts, "ttl_s", (json_int_t)ttl);
	if (b == NULL)
		*rc = ctl_oom();
	return b;
}

static int
run_session(struct ctl *c, const struct cmd *cm, int argc, char **argv)
{
	char		 path[PATH_MAX_LEN];
	const char	*how;
	json_t		*body = NULL, *j;
	int		 rc = EXIT_OK;

	if (argc < 2 || (strcmp(argv[0], "set") == 0 ? argc < 3 : argc != 2))
		return usage_error(cm, "usage: session set SANDBOX TTL_S "
		    "[HOST...] | session show SANDBOX | session clear SANDBOX");
	if (strcmp(argv[0], "set") == 0) {
		how = "PUT";
		if ((body = session_body(cm, argc, argv, &rc)) == NULL)
			return rc;
	} else if (strcmp(argv[0], "show") == 0)
		how = "GET";
	else if (strcmp(argv[0], "clear") == 0)
		how = "DELETE";
	else
		return usage_error(cm, "session set, show or clear");
	if ((rc = sandbox_path(cm, path, argv[1], "/session")) != EXIT_OK ||
	    (rc = api(c, how, path, body, &j)) != EXIT_OK) {
		json_decref(body);
		return rc;
	}
	json_decref(body);
	print_json(j);
	json_decref(j);
	return EXIT_OK;
}

/* ---- doctor -------------------------------------------------------- */

/* The running egressd's self-test; exits like egressd --self-test. */
static int
run_doctor(struct ctl *c, const struct cmd *cm, int argc, char **argv)
{
	json_t		*j, *p;
	size_t		 i;
	int		 rc;
	bool		 ok;

	if (argc != 0)
		return usage_error(cm, "doctor takes no arguments");
	if ((rc = api(c, "GET", "/api/v1/self-test", NULL, &j)) != EXIT_OK)
		return rc;
	if (!json_is_array(json_object_get(j, "probes")))
		return bad_shape(c, "self-test: no probes", j);
	ok = json_is_true(json_object_get(j, "ok"));
	if (c->c_json)
		print_json(j);
	else
		json_array_foreach(json_object_get(j, "probes"), i, p) {
			const char *n = json_string_value(json_object_get(p,
			    "name"));

			if (json_is_true(json_object_get(p, "ok")))
				printf("%s: ok\n", n != NULL ? n : "?");
			else
				printf("%s: FAIL (%s)\n", n != NULL ? n : "?",
				    json_string_value(json_object_get(p,
				    "detail")) ?: "?");
		}
	json_decref(j);
	return ok ? EXIT_OK : EXIT_REFUSED;
}

/* ---- suggest ------------------------------------------------------- */

/* One list of the suggestion as YAML, each entry with its count. */
static void
print_suggest_list(json_t *j, const char *key, const char *field)
{
	json_t	*a = json_object_get(j, key), *e, *v;
	size_t	 i;
	char	*s;

	if (json_array_size(a) == 0)
		return;
	printf("  %s:\n", key);
	json_array_foreach(a, i, e) {
		v = json_object_get(e, field);
		if (json_is_integer(v))
			printf("    - %lld", (long long)json_integer_value(v));
		else {
			/* Names came from the wire: quoted, made safe. */
			s = ctl_term_safe(json_is_string(v) ?
			    json_string_value(v) : "?");
			printf("    - \"%s\"", s != NULL ? s : "?");
			free(s);
		}
		printf("\t# %lld\n", (long long)json_integer_value(
		    json_object_get(e, "count")));
	}
}

static int
run_suggest(struct ctl *c, const struct cmd *cm, int argc, char **argv)
{
	json_t	*j;
	int	 rc;

	if ((rc = sandbox_call(c, cm, argc, argv, "GET", "/suggest",
	    "suggest: not an object", &j)) != EXIT_OK)
		return rc;
	if (c->c_json)
		print_json(j);
	else if (json_array_size(json_object_get(j, "hosts")) +
	    json_array_size(json_object_get(j, "cidrs")) +
	    json_array_size(json_object_get(j, "ports")) == 0)
		printf("# nothing learnt yet (is a policy in mode: learn?)\n"
		    "allow: {}\n");
	else {
		printf("# what learn mode let through; \"# N\": times seen\n"
		    "allow:\n");
		print_suggest_list(j, "hosts", "host");
		print_suggest_list(j, "cidrs", "cidr");
		print_suggest_list(j, "ports", "port");
	}
	json_decref(j);
	return EXIT_OK;
}

/* ---- help --------------------------------------------------------- */

static int	run_help(struct ctl *, const struct cmd *, int, char **);

static const struct cmd	cmds[] = {
	{ "sandboxes", "", "list sandboxes: id, sources, policies, "
	    "interception, origin", run_sandboxes },
	{ "table", "SANDBOX", "show a sandbox's mode and rules, and where "
	    "each rule comes from", run_table },
	{ "allow", "SANDBOX HOST...", "allow HOSTs (name or *.domain) for "
	    "SANDBOX; persisted by egressd", run_hosts },
	{ "deny", "SANDBOX HOST...", "deny HOSTs for SANDBOX (deny wins "
	    "over allow)", run_hosts },
	{ "unallow", "SANDBOX HOST...", "undo allow: take HOSTs off "
	    "SANDBOX's own allow list", run_hosts },
	{ "undeny", "SANDBOX HOST...", "undo deny: take HOSTs off "
	    "SANDBOX's own deny list", run_hosts },
	{ "enable", "SANDBOX", "turn interception on: SANDBOX's policy "
	    "is enforced", run_intercept },
	{ "disable", "SANDBOX", "turn interception off: traffic "
	    "passes unfiltered (still audited)", run_intercept },
	{ "explain", "SANDBOX HOST|URL [PORT] [--method M] [--dst ADDRESS]",
	    "show which rule decides HOST:PORT (443, TLS by default; "
	    "http://HOST/PATH for plain HTTP with its method and path), "
	    "and why", run_explain },
	{ "events", "[--sandbox S] [--action allow|deny|end|error] "
	    "[--limit N] [--follow]", "show audit events, oldest first; "
	    "--follow polls each second until ^C", run_events },
	{ "reload", "", "re-read the config (like SIGHUP); a bad one "
	    "is rejected, errors listed", run_reload },
	{ "stats", "", "show counters as \"key value\" lines", run_stats },
	{ "policies", "", "list the named policies: source (config or api) "
	    "and the sandboxes using each", run_policies },
	{ "policy", "get NAME | put NAME FILE | delete NAME", "show a "
	    "policy as JSON, create or replace one from a JSON FILE (- = "
	    "stdin), delete one set through the API", run_policy },
	{ "session", "set SANDBOX TTL_S [HOST...] | show SANDBOX | clear "
	    "SANDBOX", "a session: for TTL_S seconds SANDBOX may reach only "
	    "HOSTs it already may (one more policy, memory only)",
	    run_session },
	{ "sandbox", "delete ID", "delete a sandbox made through the API "
	    "(its connections end); for a config file's, drop the API's "
	    "changes", run_sandbox },
	{ "suggest", "SANDBOX", "the allow rules learn mode would have "
	    "needed, as a YAML allow: block to paste", run_suggest },
	{ "doctor", "", "prove the redirect rules where egressd runs "
	    "(its self-test): one line per probe", run_doctor },
	{ "health", "", "check that egressd answers (GET /healthz)",
	    run_health },
	{ "ca", "", "print the CA certificate of tls_intercept (PEM), for "
	    "the sandboxes' trust stores", run_ca },
	{ "phantom", "SANDBOX [--rotate]", "print SANDBOX's phantom token, "
	    "made on first use; --rotate: a new one, the old one stops "
	    "working at once", run_phantom },
	{ "help", "[COMMAND]", "show this help, or COMMAND's", run_help },
};

static const struct cmd *
cmd_find(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmds[i].cm_name, name) == 0)
			return &cmds[i];
	return NULL;
}

static void
cmd_help(const struct cmd *cm)
{
	cmd_usage(cm, stdout);
	printf("\n  %s\n", cm->cm_help);
}

static void
help_all(void)
{
	size_t	i;

	printf("usage: egressctl [-s SOCKET | -u URL] [-t TOKEN_FILE] "
	    "[--json] COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		printf("  %s%s%s\n      %s\n", cmds[i].cm_name,
		    cmds[i].cm_args[0] ? " " : "", cmds[i].cm_args,
		    cmds[i].cm_help);
	printf("\noptions:\n"
	    "  -s, --socket SOCKET    admin unix socket (default "
	    DEFAULT_SOCKET ")\n"
	    "  -u, --url URL          admin TCP listener, http://HOST:PORT\n"
	    "  -t, --token-file FILE  bearer token for -u (file content)\n"
	    "  -j, --json             print the server's JSON, not tables\n"
	    "  -h, --help             this help;  COMMAND --help: "
	    "COMMAND's\n"
	    "  -V, --version          print the version\n"
	    "\nenvironment: EGRESSCTL_SOCKET, EGRESSCTL_URL, "
	    "EGRESSCTL_TOKEN_FILE,\n"
	    "  EGRESSCTL_TIMEOUT (seconds per request, default %d)\n"
	    "exit codes: 0 ok, 1 refused by egressd, 2 usage, "
	    "3 egressd unreachable,\n  4 bad response, 5 egressctl failed "
	    "(out of memory); see docs/egressctl.md\n", DEFAULT_TIMEOUT_S);
}

static int
run_help(struct ctl *c, const struct cmd *cm, int argc, char **argv)
{
	const struct cmd	*h;

	if (argc == 0) {
		help_all();
		return EXIT_OK;
	}
	if (argc > 1)
		return usage_error(cm, "too many arguments");
	if ((h = cmd_find(argv[0])) == NULL)
		return usage_error(NULL, "unknown command \"%s\"", argv[0]);
	cmd_help(h);
	return EXIT_OK;
}

/* ---- set-up ------------------------------------------------------- */

/* http://HOST[:PORT][/PREFIX]; host and port point into c->c_url. */
static int
parse_url(struct ctl *c, const char *url)
{
	char	*h, *p, *slash, *e;
	long	 port;

	if (strncmp(url, "http://", 7) != 0)
		return usage_error(NULL, "URL \"%s\": only http://HOST:PORT "
		    "is supported", url);
	if ((c->c_url = strdup(url + 7)) == NULL)
		return ctl_oom();
	h = c->c_url;
	if ((slash = strchr(h, '/')) != NULL) {
		/* For a server mounted below "/"; no trailing slash. */
		size_t	plen = strlen(slash);

		while (plen > 0 && slash[plen - 1] == '/')
			slash[--plen] = '\0';
		if ((c->c_prefix = strdup(slash)) == NULL)
			return ctl_oom();
		c->c_t.ct_prefix = c->c_prefix;
		*slash = '\0';
	}
	if (*h == '[') {
		if ((e = strchr(h, ']')) == NULL)
			return usage_error(NULL, "URL \"%s\": unclosed [", url);
		*e++ = '\0';
		c->c_t.ct_host = h + 1;
		p = *e == ':' ? e + 1 : (*e == '\0' ? NULL : e);
		if (p == e)
			return usage_error(NULL, "URL \"%s\": bad port", url);
	} else {
		c->c_t.ct_host = h;
		if ((p = strrchr(h, ':')) != NULL)
			*p++ = '\0';
	}
	if (*c->c_t.ct_host == '\0' || strchr(c->c_t.ct_host, '@') != NULL)
		return usage_error(NULL, "URL \"%s\": bad host", url);
	if (p == NULL)
		p = "80";
	if (parse_long(p, 1, 65535, &port) == -1)
		return usage_error(NULL, "URL \"%s\": bad port", url);
	c->c_t.ct_port = p;
	c->c_t.ct_name = url;
	return EXIT_OK;
}

static int
read_token(struct ctl *c, const char *file)
{
	FILE	*f;
	size_t	 n, i;
	char	*buf;

	if ((f = fopen(file, "re")) == NULL) {
		fprintf(stderr, "egressctl: token file %s: %s\n", file,
		    strerror(errno));
		return EXIT_USAGE;
	}
	if ((buf = malloc(TOKEN_MAX + 1)) == NULL) {
		fclose(f);
		return ctl_oom();
	}
	n = fread(buf, 1, TOKEN_MAX + 1, f);
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
	    buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	buf[n > TOKEN_MAX ? TOKEN_MAX : n] = '\0';
	/* It goes into a header line: no room for anything but a token. */
	for (i = 0; i < n; i++)
		if ((unsigned char)buf[i] <= 0x20 || buf[i] == 0x7f)
			break;
	if (n == 0 || n > TOKEN_MAX || i < n) {
		fprintf(stderr, "egressctl: token file %s: %s\n", file,
		    n == 0 ? "empty" : n > TOKEN_MAX ? "too long" :
		    "the token holds blanks or control characters");
		free(buf);
		return EXIT_USAGE;
	}
	c->c_token = buf;
	c->c_t.ct_token = buf;
	return EXIT_OK;
}

static int
timeout_ms(void)
{
	const char	*e = getenv("EGRESSCTL_TIMEOUT");
	long		 s;

	if (e == NULL || *e == '\0')
		return DEFAULT_TIMEOUT_S * 1000;
	if (parse_long(e, 1, 3600, &s) == -1)
		return -1;
	return (int)s * 1000;
}

int
main(int argc, char **argv)
{
	struct ctl		 c;
	const struct cmd	*cm;
	const char		*sock = NULL, *url = NULL, *tokfile = NULL;
	const char		*v;
	char			**args;
	int			 i, nargs, rc, r;
	bool			 help = false, dashdash = false;

	memset(&c, 0, sizeof(c));
	c.c_t.ct_prefix = "";
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if ((r = opt_value(argc, argv, &i, "--socket", &v)) == 1 ||
		    (r == 0 && (r = opt_value(argc, argv, &i, "-s", &v)) == 1))
			sock = v;
		else if (r == 0 && ((r = opt_value(argc, argv, &i, "--url",
		    &v)) == 1 || (r == 0 && (r = opt_value(argc, argv, &i,
		    "-u", &v)) == 1)))
			url = v;
		else if (r == 0 && ((r = opt_value(argc, argv, &i,
		    "--token-file", &v)) == 1 || (r == 0 &&
		    (r = opt_value(argc, argv, &i, "-t", &v)) == 1)))
			tokfile = v;
		else if (r == -1)
			return usage_error(NULL, "%s needs a value", argv[i]);
		else if (strcmp(argv[i], "--json") == 0 ||
		    strcmp(argv[i], "-j") == 0)
			c.c_json = true;
		else if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			help_all();
			return EXIT_OK;
		} else if (strcmp(argv[i], "--version") == 0 ||
		    strcmp(argv[i], "-V") == 0) {
			printf("egressctl %s\n", EGRESS_VERSION);
			return EXIT_OK;
		} else
			return usage_error(NULL, "unknown option \"%s\"",
			    argv[i]);
	}
	if (i >= argc)
		return usage_error(NULL, "missing COMMAND");
	if ((cm = cmd_find(argv[i])) == NULL)
		return usage_error(NULL, "unknown command \"%s\"", argv[i]);
	/* --json and --help also count after the command's arguments. */
	if ((args = calloc((size_t)argc, sizeof(*args))) == NULL)
		return ctl_oom();
	for (nargs = 0, i++; i < argc; i++) {
		if (!dashdash && strcmp(argv[i], "--") == 0)
			dashdash = true;
		else if (!dashdash && (strcmp(argv[i], "--json") == 0 ||
		    strcmp(argv[i], "-j") == 0))
			c.c_json = true;
		else if (!dashdash && (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0))
			help = true;
		else
			args[nargs++] = argv[i];
	}
	if (help || cm->cm_run == run_help) {
		if (help)
			cmd_help(cm);
		rc = help ? EXIT_OK : run_help(&c, cm, nargs, args);
		free(args);
		return rc;
	}

	if (sock != NULL && url != NULL) {
		free(args);
		return usage_error(NULL, "-s and -u exclude each other");
	}
	/* The command line beats the environment; a URL beats a socket. */
	if (sock == NULL && url == NULL) {
		url = getenv("EGRESSCTL_URL");
		if (url != NULL && *url == '\0')
			url = NULL;
		if (url == NULL)
			sock = getenv("EGRESSCTL_SOCKET");
		if (sock != NULL && *sock == '\0')
			sock = NULL;
		if (url == NULL && sock == NULL)
			sock = DEFAULT_SOCKET;
	}
	if (tokfile == NULL && (tokfile = getenv("EGRESSCTL_TOKEN_FILE")) !=
	    NULL && *tokfile == '\0')
		tokfile = NULL;
	if ((c.c_t.ct_timeout_ms = timeout_ms()) == -1) {
		rc = usage_error(NULL, "EGRESSCTL_TIMEOUT: seconds, 1-3600");
		goto out;
	}
	if (url != NULL) {
		if ((rc = parse_url(&c, url)) != EXIT_OK)
			goto out;
		/* File modes guard the unix socket; the token guards TCP. */
		if (tokfile != NULL && (rc = read_token(&c, tokfile)) !=
		    EXIT_OK)
			goto out;
	} else {
		c.c_t.ct_socket = sock;
		c.c_t.ct_name = sock;
	}
	rc = cm->cm_run(&c, cm, nargs, args);
	if (fflush(stdout) == EOF && rc == EXIT_OK) {
		fprintf(stderr, "egressctl: stdout: %s\n", strerror(errno));
		rc = EXIT_USAGE;
	}
out:
	free(args);
	free(c.c_token);
	free(c.c_url);
	free(c.c_prefix);
	return rc;
}
