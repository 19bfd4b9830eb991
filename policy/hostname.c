#include "policy/hostname.h"

#include <idn2.h>
#include <libpsl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static bool
ascii_only(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

static bool
label_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	    c == '_';
}

/*
 * True when the last label of normalized <name> is a decimal or 0x-hex
 * number.  No top-level domain is one, and URL parsers, inet_aton() and
 * resolvers read such a name ("1.2.3.4." with its dot removed, "0x7f.1",
 * "2130706433") as an IPv4 address: a real IP literal is recognised
 * before a name ever gets here, so this is one spelled some other way.
 */
static bool
numeric_tail(const char *name)
{
	const char	*l = strrchr(name, '.');
	size_t		 i = 0;

	l = l != NULL ? l + 1 : name;
	if (l[0] == '0' && l[1] == 'x') {
		for (i = 2; l[i] != '\0'; i++)
			if (!((l[i] >= '0' && l[i] <= '9') ||
			    (l[i] >= 'a' && l[i] <= 'f')))
				return false;
		return true;
	}
	for (; l[i] != '\0'; i++)
		if (l[i] < '0' || l[i] > '9')
			return false;
	return i > 0;
}

int
hostname_normalize(const char *in, char *out, size_t outsz, const char **why)
{
	char	*ace = NULL;
	size_t	 len, i, label = 0;

	if (!ascii_only(in)) {
		/* UTS#46 non-transitional, as browsers map IDNs today. */
		if (idn2_to_ascii_8z(in, &ace, IDN2_NONTRANSITIONAL) !=
		    IDN2_OK) {
			*why = "not a valid internationalized domain name";
			return -1;
		}
		in = ace;
	}
	len = strlen(in);
	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len > 253 || len >= outsz) {
		*why = len == 0 ? "empty host name" : "host name too long";
		free(ace);
		return -1;
	}
	for (i = 0; i < len; i++) {
		char c = in[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == '.') {
			if (label == 0) {
				*why = "empty label in host name";
				free(ace);
				return -1;
			}
			label = 0;
		} else if (!label_char(c)) {
			*why = "invalid character in host name";
			free(ace);
			return -1;
		} else if (++label > 63) {
			*why = "label longer than 63 characters";
			free(ace);
			return -1;
		}
		out[i] = c;
	}
	/* "a.b.." loses one dot above and would end in an empty label. */
	if (label == 0) {
		*why = "empty label in host name";
		free(ace);
		return -1;
	}
	out[len] = '\0';
	free(ace);
	if (numeric_tail(out)) {
		*why = "last label is a number: an IPv4 address in another "
		    "spelling";
		return -1;
	}
	return 0;
}

/* "203.0.113.7", "2001:db8::1" or "[2001:db8::1]". */
static int
ip_literal(const char *in, struct ipaddr *ia)
{
	char	buf[64];
	size_t	n = strlen(in);

	if (ipaddr_parse(in, ia) == 0)
		return 0;
	if (n < 2 || n >= sizeof(buf) || in[0] != '[' || in[n - 1] != ']')
		return -1;
	memcpy(buf, in + 1, n - 2);
	buf[n - 2] = '\0';
	return ipaddr_parse(buf, ia);
}

int
hostpat_parse(const char *in, struct hostpat *hp, const char **why)
{
	memset(hp, 0, sizeof(*hp));
	if (in[0] == '~') {
		hp->hp_kind = HOSTPAT_REGEX;
		hp->hp_regex = in + 1;
		if (in[1] == '\0') {
			*why = "empty regex";
			return -1;
		}
		return 0;
	}
	if (strstr(in, "://") != NULL || strchr(in, '/') != NULL) {
		*why = "hosts are hostnames, not URLs (drop the scheme and path)";
		return -1;
	}
	if (ip_literal(in, &hp->hp_ip) == 0) {
		hp->hp_kind = HOSTPAT_IP;
		return 0;
	}
	if (strchr(in, ':') != NULL) {
		*why = "hosts are hostnames, not URLs (drop the :port; "
		    "ports go in ports:)";
		return -1;
	}
	if (in[0] == '*') {
		if (in[1] != '.') {
			*why = "a wildcard must be \"*.\" followed by a domain";
			return -1;
		}
		hp->hp_kind = HOSTPAT_WILDCARD;
		in += 2;
	} else
		hp->hp_kind = HOSTPAT_EXACT;
	if (strchr(in, '*') != NULL) {
		*why = "\"*\" is only allowed as the whole first label";
		return -1;
	}
	if (hostname_normalize(in, hp->hp_name, sizeof(hp->hp_name), why) == -1)
		return -1;
	if (hp->hp_kind == HOSTPAT_WILDCARD &&
	    hostname_is_public_suffix(hp->hp_name)) {
		*why = "wildcard on a public suffix would allow whole "
		    "top-level domains";
		return -1;
	}
	return 0;
}

static const psl_ctx_t	*psl_ctx;
static pthread_once_t	 psl_once = PTHREAD_ONCE_INIT;

static void
psl_load(void)
{
	/* The system list is fresher than the one compiled into libpsl. */
	if ((psl_ctx = psl_latest(NULL)) == NULL)
		psl_ctx = psl_builtin();
}

bool
hostname_is_public_suffix(const char *name)
{
	pthread_once(&psl_once, psl_load);
	if (psl_ctx == NULL)
		return strchr(name, '.') == NULL;
	/* Without "*" rules, "foo.ck"-style wildcard entries count too. */
	return psl_is_public_suffix2(psl_ctx, name, PSL_TYPE_ANY |
	    PSL_TYPE_NO_STAR_RULE) != 0 || strchr(name, '.') == NULL;
}

const char *
hostname_registrable(const char *name)
{
	pthread_once(&psl_once, psl_load);
	if (psl_ctx == NULL)
		return NULL;
	return psl_registrable_domain(psl_ctx, name);
}
