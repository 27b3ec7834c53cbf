/* The spool of an SMT file (see ingest.h): the decoded bytes of a pulled
 * file written once to an unlinked temporary file while their sha256 is
 * computed. */
#ifndef IW_SMT_SPOOL_H
#define IW_SMT_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "core/codec.h"

enum iw_smt_encoding {
	IW_SMT_PLAIN, /* bytes as they are */
	IW_SMT_GZIP,  /* gzip (one or more members) */
	IW_SMT_AUTO,  /* gzip when it starts with the gzip magic, else plain */
};

/* Spool errors: the caller maps them to HTTP answers. */
enum iw_smt_spool_err {
	IW_SMT_SPOOL_OK = 0,
	IW_SMT_SPOOL_ETOOBIG = -1,  /* decoded bytes over the cap: 413 */
	IW_SMT_SPOOL_EBADGZIP = -2, /* corrupt or truncated gzip: 400 */
	IW_SMT_SPOOL_EBASE64 = -3,  /* not base64: 400 */
	IW_SMT_SPOOL_EIO = -4,      /* temporary file or memory: 500 */
};

/* Fields read by ingest.c (fd, enc, size, sha256, err, errbuf). */
struct iw_smt_spool {
	int fd;
	enum iw_smt_encoding enc;
	int decided;
	unsigned char head[2];
	size_t headn;
	struct iw_inflate_stream gz;    /* core/codec.h: gzip members */
	struct iw_b64_stream b64;       /* core/codec.h: inline base64 */
	EVP_MD_CTX *md;
	uint64_t size, max;
	int err;
	int finished;
	char sha256[65];
	char *errbuf;
	size_t errlen;
};

struct iw_smt_spool *iw_smt_spool_new(enum iw_smt_encoding enc, uint64_t max_decoded,
				      char *err, size_t errlen);
/* Feeds encoded bytes (gzip or plain). Errors are sticky. */
int iw_smt_spool_feed(struct iw_smt_spool *s, const void *buf, size_t len);
/* Feeds base64 text (white space allowed) that decodes to encoded bytes. */
int iw_smt_spool_feed_base64(struct iw_smt_spool *s, const char *b64, size_t len);
/* Ends the input (checks a gzip stream is complete); fixes size and sha256. */
int iw_smt_spool_finish(struct iw_smt_spool *s);
uint64_t iw_smt_spool_size(const struct iw_smt_spool *s);
const char *iw_smt_spool_sha256(const struct iw_smt_spool *s); /* hex, after finish */
void iw_smt_spool_free(struct iw_smt_spool *s);
const char *iw_smt_spool_strerror(int rc);
#endif
