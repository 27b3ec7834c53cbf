/* Test driver for the EWS client: reads its settings from the environment.
 *   ews_cli list               JSON {"reports":[{filename,created,size,url}]}
 *   ews_cli download URL FILE  stream URL into FILE, print {"bytes":N}
 *   ews_cli endpoint           the SOAP endpoint the settings give
 *   ews_cli configured         1 or 0
 * Exit 0 on success, 1 on failure (message on stderr), 2 on bad usage. */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "core/config.h"
#include "ercot/ews.h"

#define ERR_MAX 1024

struct file_sink {
	FILE *f;
	unsigned long long bytes;
};

static size_t to_file(const void *data, size_t len, void *ctx)
{
	struct file_sink *s = ctx;
	size_t n = fwrite(data, 1, len, s->f);

	s->bytes += n;
	return n;
}

static int list(void)
{
	struct iw_ews_report *r = NULL;
	char err[ERR_MAX];
	size_t n = 0;
	json_object *root, *arr;

	if (iw_ews_list_reports(&r, &n, err, sizeof err)) {
		fprintf(stderr, "ews_cli: %s\n", err);
		return 1;
	}
	root = json_object_new_object();
	arr = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "filename", json_object_new_string(r[i].filename));
		json_object_object_add(o, "created", json_object_new_string(r[i].created));
		json_object_object_add(o, "size", json_object_new_int64(r[i].size));
		json_object_object_add(o, "url", json_object_new_string(r[i].url));
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "reports", arr);
	puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	iw_ews_reports_free(r, n);
	return 0;
}

static int download(const char *url, const char *path)
{
	struct file_sink s = { 0 };
	char err[ERR_MAX];
	int rc;

	if (!(s.f = fopen(path, "wb"))) {
		perror(path);
		return 1;
	}
	rc = iw_ews_download(url, to_file, &s, err, sizeof err);
	if (fclose(s.f) && rc == 0) {
		perror(path);
		return 1;
	}
	if (rc) {
		fprintf(stderr, "ews_cli: %s\n", err);
		return 1;
	}
	printf("{\"bytes\":%llu}\n", s.bytes);
	return 0;
}

int main(int argc, char **argv)
{
	char endpoint[2048];
	int rc = 2;

	if (iw_config_load()) {
		fprintf(stderr, "ews_cli: cannot read the environment\n");
		return 1;
	}
	if (argc == 2 && strcmp(argv[1], "list") == 0)
		rc = list();
	else if (argc == 4 && strcmp(argv[1], "download") == 0)
		rc = download(argv[2], argv[3]);
	else if (argc == 2 && strcmp(argv[1], "configured") == 0) {
		printf("%d\n", iw_ews_configured());
		rc = 0;
	} else if (argc == 2 && strcmp(argv[1], "endpoint") == 0) {
		rc = iw_ews_endpoint(endpoint, sizeof endpoint) ? 1 : 0;
		if (rc == 0)
			puts(endpoint);
	} else
		fprintf(stderr, "usage: ews_cli list | download URL FILE | endpoint | configured\n");
	iw_ews_cleanup();
	iw_config_free();
	return rc;
}
