/*
 * tests/fuzz/fuzz_hostset.c - differential libFuzzer target for host
 * names and host matching (policy/hostname.c, policy/hostset.c).
 *
 * The input is lines: every line but the last is a host pattern, the last
 * is the name asked about (as a SNI or Host would bring it).  The fast
 * path (hostpat_parse, hostname_normalize, a hostset with its hashes and
 * suffix probes) is compared with a slow reference written from
 * docs/config.md and nothing else:
 *
 *  - a name is labels of 1-63 bytes of [A-Za-z0-9_-], 253 bytes at most,
 *    with one optional trailing dot, and a last label that is not a
 *    number; it is compared lowercased, without that dot;
 *  - "example.com" matches exactly that name;
 *  - "*.example.com" matches names ending in ".example.com" with at least
 *    one more label, never the apex;
 *  - an exact rule is reported before any wildcard, the longest wildcard
 *    suffix before shorter ones, and of equal rules the first added.
 *
 * Only ASCII inputs are compared (IDNs go through libidn2, which has no
 * reference here) and only patterns hostpat_parse accepts are added (it
 * also refuses wildcards on public suffixes, which need the PSL); for
 * those the reference must agree that the name is valid.  Regex patterns
 * are added too, to check the deny and allow lookups agree whenever a
 * regex can finish.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/hostname.h"
#include "policy/hostset.h"

#include "fuzz_util.h"

#define PATS_MAX	64
#define LINE_MAX_	300

struct ref_pat {
	bool	 wild;
	char	 name[LINE_MAX_];	/* reference-normalized */
	char	 text[LINE_MAX_ + 8];	/* the rule text given to the set */
};

static bool
all_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/*
 * The reference normalizer: splits into labels and checks each, then
 * joins them lowercased.  false when the name is not acceptable.
 */
static bool
ref_norm(const char *in, char *out)
{
	char		 buf[LINE_MAX_ + 1];
	char		*labels[LINE_MAX_];
	size_t		 n = 0, i, j, len = strlen(in);
	bool		 numeric, hex;
	char		*l, *save = NULL;

	if (len > LINE_MAX_)
		return false;
	memcpy(buf, in, len + 1);
	if (len > 0 && buf[len - 1] == '.')
		buf[--len] = '\0';
	if (len == 0 || len > 253)
		return false;
	/* strtok_r would merge empty labels; find them first. */
	if (buf[0] == '.' || strstr(buf, "..") != NULL || buf[len - 1] == '.')
		return false;
	for (l = strtok_r(buf, ".", &save); l != NULL;
	    l = strtok_r(NULL, ".", &save))
		labels[n++] = l;
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		if (strlen(labels[i]) < 1 || strlen(labels[i]) > 63)
			return false;
		for (j = 0; labels[i][j] != '\0'; j++) {
			char	c = labels[i][j];

			if (!isalnum((unsigned char)c) && c != '-' && c != '_')
				return false;
			labels[i][j] = (char)tolower((unsigned char)c);
		}
		if (i > 0)
			strcat(out, ".");
		strcat(out, labels[i]);
	}
	/* Last label all digits, or 0x and hex digits: IPv4 in disguise. */
	l = labels[n - 1];
	numeric = hex = true;
	for (j = 0; l[j] != '\0'; j++)
		if (!isdigit((unsigned char)l[j]))
			numeric = false;
	if (strncmp(l, "0x", 2) != 0)
		hex = false;
	for (j = 2; hex && l[j] != '\0'; j++)
		if (!isxdigit((unsigned char)l[j]))
			hex = false;
	return !numeric && !hex;
}

/* Does reference pattern <p> match reference-normalized <name>? */
static bool
ref_match(const struct ref_pat *p, const char *name)
{
	size_t	nl = strlen(name), sl = strlen(p->name);

	if (!p->wild)
		return strcasecmp(name, p->name) == 0;
	return nl > sl + 1 && name[nl - sl - 1] == '.' &&
	    strcasecmp(name + nl - sl, p->name) == 0;
}

static const char *
ref_lookup(const struct ref_pat *pats, size_t n, const char *name)
{
	const struct ref_pat	*best = NULL;
	size_t			 i;

	for (i = 0; i < n; i++)
		if (!pats[i].wild && ref_match(&pats[i], name))
			return pats[i].text;
	for (i = 0; i < n; i++)
		if (pats[i].wild && ref_match(&pats[i], name) &&
		    (best == NULL || strlen(pats[i].name) > strlen(best->name)))
			best = &pats[i];
	return best != NULL ? best->text : NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ref_pat	 pats[PATS_MAX];
	char			 lines[PATS_MAX + 1][LINE_MAX_ + 1];
	char			 norm[HOSTNAME_MAX], norm2[HOSTNAME_MAX];
	char			 refn[LINE_MAX_ + 1], whybuf[256];
	struct hostset		*hs;
	struct hostpat		 hp;
	const char		*why, *got, *want, *name, *gd;
	size_t			 nl = 0, i, k, start, npat = 0, nre = 0;
	bool			 ok, rok;

	/* Split into NUL-free lines; a line too long is cut. */
	for (start = 0, i = 0; i <= size && nl <= PATS_MAX; i++) {
		if (i < size && data[i] != '\n')
			continue;
		k = i - start;
		if (k > LINE_MAX_)
			k = LINE_MAX_;
		memcpy(lines[nl], data + start, k);
		lines[nl][k] = '\0';
		nl++;
		start = i + 1;
	}
	if (nl == 0)
		return 0;
	name = lines[nl - 1];

	/* Normalization: the same verdict as the reference, idempotent. */
	ok = hostname_normalize(name, norm, sizeof(norm), &why) == 0;
	if (all_ascii(name)) {
		rok = ref_norm(name, refn);
		CHECK_MSG(ok == rok, "\"%s\": fast %d, reference %d", name,
		    ok, rok);
		if (ok)
			CHECK(strcmp(norm, refn) == 0);
	}
	if (ok) {
		CHECK(hostname_normalize(norm, norm2, sizeof(norm2), &why) == 0);
		CHECK(strcmp(norm, norm2) == 0);
	}

	if ((hs = hostset_new()) == NULL)
		return 0;
	for (i = 0; i + 1 < nl; i++) {
		if (hostpat_parse(lines[i], &hp, &why) == -1 ||
		    hp.hp_kind == HOSTPAT_IP)
			continue;
		if (hp.hp_kind == HOSTPAT_REGEX) {
			/* Cheap to build only: a handful per input. */
			if (nre < 4 && hostset_add(hs, &hp, lines[i], whybuf,
			    sizeof(whybuf)) == 0)
				nre++;
			continue;
		}
		if (!all_ascii(lines[i]))
			continue;
		pats[npat].wild = hp.hp_kind == HOSTPAT_WILDCARD;
		/* The pattern's name must be one the reference accepts. */
		CHECK(ref_norm(lines[i] + (pats[npat].wild ? 2 : 0),
		    pats[npat].name));
		CHECK(strcmp(pats[npat].name, hp.hp_name) == 0);
		snprintf(pats[npat].text, sizeof(pats[npat].text), "%s",
		    lines[i]);
		CHECK(hostset_add(hs, &hp, pats[npat].text, whybuf,
		    sizeof(whybuf)) == 0);
		npat++;
	}
	CHECK(hostset_count(hs) <= npat + nre);

	if (ok) {
		got = hostset_match(hs, norm);
		gd = hostset_match_deny(hs, norm);
		want = all_ascii(name) ? ref_lookup(pats, npat, norm) : NULL;
		/* Regexes come last: they only decide when nothing else did. */
		if (all_ascii(name) && (nre == 0 || want != NULL)) {
			CHECK_MSG((got == NULL) == (want == NULL) &&
			    (got == NULL || strcmp(got, want) == 0),
			    "\"%s\": fast %s, reference %s", norm,
			    got ? got : "-", want ? want : "-");
		}
		/*
		 * The deny lookup finds whatever the allow lookup finds, and
		 * differs only where a regex could not finish: it then stops
		 * at that regex, which may come before the one that matched.
		 * Exact and wildcard rules are decided the same both ways.
		 */
		if (got != NULL)
			CHECK(gd != NULL && (strcmp(got, gd) == 0 ||
			    (got[0] == '~' && gd[0] == '~')));
		else if (gd != NULL)
			CHECK(nre > 0 && gd[0] == '~');
	}
	hostset_free(hs);
	return 0;
}
