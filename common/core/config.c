#include "core/config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

extern char **environ;

static char **snapshot;
static size_t snapshot_len;

int iw_config_load(void)
{
	size_t n = 0;

	iw_config_free();
	while (environ && environ[n])
		n++;
	snapshot = calloc(n + 1, sizeof *snapshot);
	if (!snapshot)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!(snapshot[i] = strdup(environ[i]))) {
			iw_config_free();
			return -1;
		}
	}
	snapshot_len = n;
	return 0;
}

void iw_config_free(void)
{
	for (size_t i = 0; i < snapshot_len; i++)
		free(snapshot[i]);
	free(snapshot);
	snapshot = NULL;
	snapshot_len = 0;
}

const char *iw_env(const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < snapshot_len; i++) {
		const char *kv = snapshot[i];
		if (strncmp(kv, name, len) == 0 && kv[len] == '=')
			return kv[len + 1] ? kv + len + 1 : NULL;
	}
	return NULL;
}

const char *iw_env_or(const char *name, const char *fallback)
{
	const char *v = iw_env(name);
	return v ? v : fallback;
}

long long iw_env_int(const char *name, long long fallback, long long min, long long max)
{
	const char *v = iw_env(name);
	char *end;
	long long n;

	if (!v)
		return fallback;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || end == v || *end || n < min || n > max)
		return fallback;
	return n;
}

int iw_env_bool(const char *name, int fallback)
{
	const char *v = iw_env(name);

	if (!v)
		return fallback;
	return !strcasecmp(v, "1") || !strcasecmp(v, "true") ||
	       !strcasecmp(v, "yes") || !strcasecmp(v, "on");
}
