/* Settings: the process environment, read once at start-up (systemd
 * EnvironmentFile=). Every later lookup reads that snapshot. */
#ifndef IW_CONFIG_H
#define IW_CONFIG_H

int iw_config_load(void);
void iw_config_free(void);
/* The value of NAME, or NULL when it is unset or empty. */
const char *iw_env(const char *name);
const char *iw_env_or(const char *name, const char *fallback);
/* NAME as an integer in [min, max]; fallback when unset or not a number. */
long long iw_env_int(const char *name, long long fallback, long long min, long long max);
/* True for 1/true/yes/on (any case). */
int iw_env_bool(const char *name, int fallback);
#endif
