/*
 * daemon/config.h - egressd's YAML configuration (docs/config.md),
 * validated: the daemon's own settings (one function per section in
 * config.c) and the policy snapshot (policy/parse.h).
 *
 * Pure code over a buffer: config_parse() reports every error it finds as
 * "FILE:LINE:COLUMN: message" into an errlist and builds nothing unless
 * the whole file is valid, so a reload can never half-apply.
 */
#ifndef EGRESS_CONFIG_H
#define EGRESS_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/errlist.h"
#include "common/netaddr.h"
#include "policy/policy.h"
#include "proxy/shared.h"

/* A path from the config, with where it was written (for load errors). */
struct config_path {
	char		*cp_path;	/* owns, or NULL */
	const char	*cp_file;	/* borrows cf_file */
	unsigned	 cp_line, cp_col;
};

struct config {
	char			*cf_file;	/* owns */
	/* What the data path reads; its pointers borrow the arrays below. */
	struct proxy_conf	 cf_px;
	struct listen_addr	*cf_listen;	/* owns */
	size_t			 cf_nlisten;
	char			**cf_dns_servers; /* owns */
	size_t			 cf_dns_nservers;

	bool			 cf_dns;	/* dns: section present */
	struct listen_addr	*cf_dns_listen;	/* owns */
	size_t			 cf_dns_nlisten;
	bool			 cf_dns_strip_https;

	char			*cf_admin_socket;	/* owns, or NULL */
	struct listen_addr	*cf_admin_listen;	/* owns, or NULL */
	size_t			 cf_admin_nlisten;	/* each served */
	char			*cf_admin_token_file;	/* owns, or NULL */

	char			*cf_audit_file;	/* owns; NULL = none, "-" */
	bool			 cf_audit_syslog;
	bool			 cf_audit_log_allowed;
	unsigned		 cf_audit_memory_events;

	char			*cf_state_dir;	/* owns */
	bool			 cf_config_watch; /* reload when the file changes */
	bool			 cf_require_enforcement; /* self-test at start */

	/* tls_intercept (docs/interception.md); cf_ti false: absent. */
	bool			 cf_ti;
	struct config_path	 cf_ti_ca_cert;
	struct config_path	 cf_ti_ca_key;
	struct config_path	 cf_ti_upstream_ca; /* "system" or a path */
	struct certs		*cf_certs;	/* owns a ref; set by the daemon
						   once it loaded the files */
	struct policy		*cf_policy;	/* owns one reference */
};

struct config	*config_parse(const char *buf, size_t len, const char *file,
		    struct errlist *el);
/*
 * The same, with the admin API's state file <obuf> (YAML or JSON:
 * `sandboxes: [...]`, entries in the config's sandbox schema) laid over
 * the config's sandboxes: an entry's keys replace those of the config
 * sandbox with its id, or the entry adds a sandbox.  Errors name the file
 * they are in.
 */
struct config	*config_parse_overlay(const char *buf, size_t len,
		    const char *file, const char *obuf, size_t olen,
		    const char *ofile, struct errlist *el);
void		 config_free(struct config *cf);

struct certs;

#endif /* EGRESS_CONFIG_H */
