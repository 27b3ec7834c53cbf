/* io/storage_s3.c: the tags read from S3 XML replies (Code, UploadId). */
#include "fuzz.h"
#include "io/storage_backend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size), code[64], id[512], tiny[2];

	if (!s)
		return 0;
	iw_s3_xml_text(s, "Code", code, sizeof code);
	iw_s3_xml_text(s, "UploadId", id, sizeof id);
	iw_s3_xml_text(s, "Message", tiny, sizeof tiny);
	free(s);
	return 0;
}
