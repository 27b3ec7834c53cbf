/* Prometheus text exposition (core/prom.h). */
#include <math.h>

#include "core/prom.h"

int iw_prom_family(struct iw_buf *b, const char *name, const char *type, const char *help)
{
	return iw_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Backslash, double quote and line feed are the three escapes of a label value. */
static int label_value(struct iw_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			iw_buf_puts(b, "\\\\");
		else if (*s == '"')
			iw_buf_puts(b, "\\\"");
		else if (*s == '\n')
			iw_buf_puts(b, "\\n");
		else
			iw_buf_put(b, s, 1);
	}
	return 0;
}

int iw_prom_sample(struct iw_buf *b, const char *name, const char *label, const char *value,
		   double v)
{
	iw_buf_puts(b, name);
	if (label) {
		iw_buf_printf(b, "{%s=\"", label);
		label_value(b, value ? value : "");
		iw_buf_puts(b, "\"}");
	}
	if (isnan(v))
		return iw_buf_puts(b, " NaN\n");
	/* %.17g keeps every integer below 2^53 and a Unix time to the ms. */
	return iw_buf_printf(b, " %.17g\n", v);
}

int iw_prom_line(struct iw_buf *b, const char *name, int n, const char *const keys[],
		 const char *const values[], const char *text)
{
	iw_buf_puts(b, name);
	for (int i = 0; i < n; i++) {
		iw_buf_printf(b, "%s%s=\"", i ? "," : "{", keys[i]);
		label_value(b, values[i] ? values[i] : "");
		iw_buf_puts(b, i == n - 1 ? "\"}" : "\"");
	}
	return iw_buf_printf(b, " %s\n", text);
}

void iw_prom_source_up(struct iw_buf *up, const char *source, int ok)
{
	iw_prom_sample(up, "iw_metrics_source_up", "source", source, ok);
}
