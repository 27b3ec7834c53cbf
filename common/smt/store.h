/* Where and how a pulled SMT file is stored (SPEC §5, §6):
 * smt/raw/YYYY-MM-DD/<sha256>-<name>, the name bounded so that the key's
 * last segment (and the local backend's ".tmp-<segment>-XXXXXX" beside it)
 * fits any file system's NAME_MAX (255 bytes): 65 + 120 + 12 = 197. The
 * full sha256 stays in the key; raw_smt_files.filename keeps the whole
 * sanitised name. The object's content type comes from an allow-list, never
 * from the request as given. */
#ifndef IW_SMT_STORE_H
#define IW_SMT_STORE_H

#include <stddef.h>

struct iw_error;

#define IW_SMT_STORE_PREFIX   "smt/raw"
#define IW_SMT_KEY_NAME_MAX   120  /* bytes of the filename in the key */
#define IW_SMT_EXT_MAX        16   /* longest extension kept when shortening */

/* Length of NAME's extension (".csv", dot included; LEN bytes of NAME) that
 * shortening keeps: 0 when there is none or it is longer than IW_SMT_EXT_MAX. */
size_t iw_smt_ext_len(const char *name, size_t len);
/* Shortens NAME in place to at most MAX bytes, keeping its extension and
 * never cutting a UTF-8 sequence. */
void iw_smt_name_shorten(char *name, size_t max);
/* The key of a file received on DATE (YYYY-MM-DD) into KEY: 0, or -1 when
 * it is not a valid storage key. */
int iw_smt_store_key(const char *date, const char *sha256, const char *filename, char *key,
		     size_t keylen);
/* The stored content type for REQUESTED (a media type, parameters allowed;
 * NULL: text/csv): text/csv, text/plain or application/octet-stream. The
 * stored bytes are always decoded, so a gzip type is text/csv. */
const char *iw_smt_content_type(const char *requested);
/* Stores the whole spool file FD at KEY (atomic put). 0, or the enum iw_err
 * set in ERROR (IW_ERR_IO local, IW_ERR_UPSTREAM S3; IW_ERR_INTERNAL out of memory). */
int iw_smt_store_spool(int fd, const char *key, const char *content_type,
		       struct iw_error *error);
#endif
