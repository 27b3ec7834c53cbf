#include "ercot/mis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "core/config.h"

#define ERCOT_URL_MAX  2048
#define ERCOT_TEXT_MAX 300

static const char *doc_str(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return NULL;
	return json_object_get_string(v);
}

static int add_document(json_object *d, const char *base, const char *day, const char *tdsp,
			struct iw_ercot_docs *out)
{
	const char *id = doc_str(d, "DocID"), *cname = doc_str(d, "ConstructedName");
	const char *fname = doc_str(d, "FriendlyName"), *size = doc_str(d, "ContentSize");
	char url[ERCOT_URL_MAX + 128], name[ERCOT_TEXT_MAX];

	if (!id || !*id)
		return 0;
	if (cname && *cname)
		snprintf(name, sizeof name, "%s", cname);
	else
		snprintf(name, sizeof name, "%s_%s.zip", fname ? fname : "doc", id);
	snprintf(url, sizeof url, "%s" IW_ERCOT_MIS_DOWNLOAD "%s", base, id);
	return iw_ercot_docs_add(out, day, tdsp, name, fname, url, doc_str(d, "PublishDate"),
				 size ? atoll(size) : -1) < 0 ? -1 : 0;
}

int iw_ercot_mis_parse(const char *body, const char *base, const char *day,
		       const char *tdsp, struct iw_ercot_docs *out, char *err, size_t errlen)
{
	json_object *doc = NULL, *res, *list;
	int rc = -1;

	if (!(doc = json_tokener_parse(body)) ||
	    !json_object_object_get_ex(doc, "ListDocsByRptTypeRes", &res) ||
	    !json_object_object_get_ex(res, "DocumentList", &list)) {
		snprintf(err, errlen, "MIS listing: not the expected JSON");
		goto out;
	}
	/* One document may come as an object instead of a one-element list. */
	if (json_object_is_type(list, json_type_object)) {
		json_object *d;
		if (json_object_object_get_ex(list, "Document", &d) &&
		    add_document(d, base, day, tdsp, out) != 0)
			goto oom;
	} else if (json_object_is_type(list, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(list); i++) {
			json_object *e = json_object_array_get_idx(list, i), *d;
			if (e && json_object_object_get_ex(e, "Document", &d) &&
			    add_document(d, base, day, tdsp, out) != 0)
				goto oom;
		}
	}
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "MIS listing: %s", iw_ercot_docs_error(out));
out:
	json_object_put(doc);
	return rc;
}

int iw_ercot_mis_list(const char *day, const char *tdsp, struct iw_ercot_docs *out,
		      char *err, size_t errlen)
{
	char base[ERCOT_URL_MAX], url[ERCOT_URL_MAX + 128];
	struct iw_http_got reply;
	int rc = -1;

	snprintf(base, sizeof base, "%s", iw_env_or("ERCOT_MIS_BASE", IW_ERCOT_MIS_BASE));
	if (base[0] && base[strlen(base) - 1] == '/')
		base[strlen(base) - 1] = '\0';
	snprintf(url, sizeof url, "%s" IW_ERCOT_MIS_LIST "%lld", base,
		 iw_env_int("ERCOT_EWS_REPORTTYPE", 203, 1, 99999999));
	if (iw_ercot_http_get(url, NULL, NULL, &reply) != 0) {
		snprintf(err, errlen, "MIS listing: %s", reply.error);
		return -1;
	}
	if (reply.status != 200) {
		snprintf(err, errlen, "MIS listing answered HTTP %ld", reply.status);
		goto out;
	}
	rc = iw_ercot_mis_parse(reply.body, base, day, tdsp, out, err, errlen);
out:
	iw_http_got_free(&reply);
	return rc;
}

int iw_ercot_plain_download(void *self, const char *url, iw_ercot_sink sink, void *ctx,
			    char *err, size_t errlen)
{
	long status, retry_after;
	(void)self;
	return iw_ercot_http_stream(url, NULL, sink, ctx, &status, &retry_after, err, errlen);
}
