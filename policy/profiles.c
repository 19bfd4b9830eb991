#include <string.h>

#include "policy/policy_int.h"

/*
 * Built-in profiles (docs/config.md); docs/profiles.md lists the same hosts.
 * They name the hosts a client of each service really dials, checked
 * against the clients' own documentation, and no wildcard broader than
 * the service's own domain.
 */
static const char *const pm_hosts[] = {
	"pypi.org", "files.pythonhosted.org", "registry.npmjs.org",
	"registry.yarnpkg.com", "deb.debian.org", "security.debian.org",
	"archive.ubuntu.com", "security.ubuntu.com", "dl-cdn.alpinelinux.org",
	"proxy.golang.org", "sum.golang.org", "index.crates.io",
	"static.crates.io", "rubygems.org", "repo.maven.apache.org", NULL
};

static const char *const github_hosts[] = {
	"github.com", "api.github.com", "codeload.github.com",
	"objects.githubusercontent.com", "raw.githubusercontent.com",
	"release-assets.githubusercontent.com", "uploads.github.com",
	"ghcr.io", "pkg-containers.githubusercontent.com", NULL
};

static const char *const openai_hosts[] = {
	"api.openai.com", "files.openai.com", NULL
};

static const char *const anthropic_hosts[] = {
	"api.anthropic.com", NULL
};

static const char *const huggingface_hosts[] = {
	"huggingface.co", "cdn-lfs.huggingface.co", "cdn-lfs-us-1.huggingface.co",
	"cas-bridge.xethub.hf.co", "cas-server.xethub.hf.co", NULL
};

static const struct {
	const char		*name;
	const char *const	*hosts;
} builtins[] = {
	{ "package-managers", pm_hosts },
	{ "github", github_hosts },
	{ "openai", openai_hosts },
	{ "anthropic", anthropic_hosts },
	{ "huggingface", huggingface_hosts },
};

const char *const *
profile_builtin(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (strcmp(builtins[i].name, name) == 0)
			return builtins[i].hosts;
	return NULL;
}
