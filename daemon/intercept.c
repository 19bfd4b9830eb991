#include "daemon/intercept.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/secret.h"
#include "policy/policy.h"
#include "proxy/certs.h"

static bool
same_path(const struct config_path *a, const struct config_path *b)
{
	return a->cp_path != NULL && b->cp_path != NULL &&
	    strcmp(a->cp_path, b->cp_path) == 0;
}

static struct secret *
intercept_secret(void *arg, const char *path, const char *file, unsigned line,
    unsigned col)
{
	struct errlist	*el = arg;
	struct secret	*s;
	char		 err[512];

	if ((s = secret_read_file(path, err, sizeof(err))) == NULL)
		errlist_add(el, file, line, col, "credentials value_file: %s",
		    err);
	return s;
}

static int
intercept_ca(struct config *cf, const struct config *old, bool reuse,
    struct errlist *el)
{
	const struct config_path	*at;
	char				 err[512];

	if (reuse && old != NULL && old->cf_certs != NULL &&
	    same_path(&cf->cf_ti_ca_cert, &old->cf_ti_ca_cert) &&
	    same_path(&cf->cf_ti_ca_key, &old->cf_ti_ca_key) &&
	    same_path(&cf->cf_ti_upstream_ca, &old->cf_ti_upstream_ca)) {
		cf->cf_certs = certs_ref(old->cf_certs);
		return 0;
	}
	if (certs_check_key_file_mode(cf->cf_ti_ca_key.cp_path, err,
	    sizeof(err)) == -1)
		/* Mounted secrets are often 0644 in their own mount: warn. */
		log_warnx("tls_intercept: %s", err);
	cf->cf_certs = certs_load(cf->cf_ti_ca_cert.cp_path,
	    cf->cf_ti_ca_key.cp_path, cf->cf_ti_upstream_ca.cp_path, err,
	    sizeof(err));
	if (cf->cf_certs != NULL)
		return 0;
	/* Name the key the message is about, or the section's first. */
	at = strstr(err, cf->cf_ti_ca_key.cp_path) != NULL ?
	    &cf->cf_ti_ca_key : strstr(err, cf->cf_ti_upstream_ca.cp_path) !=
	    NULL && strcmp(cf->cf_ti_upstream_ca.cp_path, "system") != 0 ?
	    &cf->cf_ti_upstream_ca : &cf->cf_ti_ca_cert;
	errlist_add(el, at->cp_file, at->cp_line, at->cp_col,
	    "tls_intercept: %s", err);
	return -1;
}

int
intercept_load(struct config *cf, const struct config *old, bool reuse,
    struct errlist *el)
{
	int	rc = 0;

	if (cf->cf_ti && intercept_ca(cf, old, reuse, el) == -1)
		rc = -1;
	if (policy_load_secrets(cf->cf_policy, intercept_secret, el) > 0)
		rc = -1;
	cf->cf_px.pc_certs = cf->cf_certs;
	return rc;
}
