/* The spool of an SMT file: decoded bytes (gzip, base64) written once to an
 * unlinked temporary file while their sha256 is computed. */
#include "smt/spool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/tmpfile.h"

const char *iw_smt_spool_strerror(int rc)
{
	switch (rc) {
	case IW_SMT_SPOOL_OK: return "ok";
	case IW_SMT_SPOOL_ETOOBIG: return "decoded content over the size limit";
	case IW_SMT_SPOOL_EBADGZIP: return "not a complete gzip stream";
	case IW_SMT_SPOOL_EBASE64: return "not valid base64";
	default: return "temporary file error";
	}
}

struct iw_smt_spool *iw_smt_spool_new(enum iw_smt_encoding enc, uint64_t max_decoded,
				      char *err, size_t errlen)
{
	struct iw_smt_spool *s = calloc(1, sizeof *s);

	if (!s)
		goto fail;
	s->fd = -1;
	s->enc = enc;
	s->decided = enc != IW_SMT_AUTO;
	s->max = max_decoded;
	s->errbuf = err;
	s->errlen = errlen;
	iw_inflate_start(&s->gz, 16 + MAX_WBITS, 1); /* gzip wrapper only, members */
	if ((s->fd = iw_tmpfile(NULL, "iw-smt")) < 0) {
		snprintf(err, errlen, "cannot create a temporary file: %s", strerror(errno));
		goto fail;
	}
	if (!(s->md = EVP_MD_CTX_new()) ||
	    EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) != 1)
		goto fail;
	return s;
fail:
	if (s && !err[0])
		snprintf(err, errlen, "out of memory");
	iw_smt_spool_free(s);
	return NULL;
}

void iw_smt_spool_free(struct iw_smt_spool *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	iw_inflate_end(&s->gz);
	EVP_MD_CTX_free(s->md);
	free(s);
}

static int spool_fail(struct iw_smt_spool *s, int rc)
{
	if (!s->err) {
		s->err = rc;
		if (rc == IW_SMT_SPOOL_ETOOBIG)
			snprintf(s->errbuf, s->errlen, "decoded content over %llu bytes",
				 (unsigned long long)s->max);
		else if (rc != IW_SMT_SPOOL_EIO || !s->errbuf[0])
			snprintf(s->errbuf, s->errlen, "%s", iw_smt_spool_strerror(rc));
	}
	return s->err;
}

static int write_decoded(struct iw_smt_spool *s, const unsigned char *p, size_t len)
{
	if (len > s->max - s->size)
		return spool_fail(s, IW_SMT_SPOOL_ETOOBIG);
	s->size += len;
	if (EVP_DigestUpdate(s->md, p, len) != 1)
		return spool_fail(s, IW_SMT_SPOOL_EIO);
	while (len) {
		ssize_t n = write(s->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(s->errbuf, s->errlen, "temporary file: %s", strerror(errno));
			return spool_fail(s, IW_SMT_SPOOL_EIO);
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* core/codec.h's emit: decoded bytes to the file. */
static int emit_decoded(void *ctx, const unsigned char *p, size_t len)
{
	return write_decoded(ctx, p, len);
}

static int decode_chunk(struct iw_smt_spool *s, const unsigned char *p, size_t len)
{
	int rc;

	if (s->enc != IW_SMT_GZIP)
		return write_decoded(s, p, len);
	if ((rc = iw_inflate_feed(&s->gz, p, len, emit_decoded, s)) == 0 || s->err)
		return s->err;
	return spool_fail(s, rc == IW_CODEC_INVALID ? IW_SMT_SPOOL_EBADGZIP : IW_SMT_SPOOL_EIO);
}

int iw_smt_spool_feed(struct iw_smt_spool *s, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	if (s->err)
		return s->err;
	if (!s->decided) {
		while (s->headn < 2 && len) {
			s->head[s->headn++] = *p++;
			len--;
		}
		if (s->headn < 2)
			return 0;
		s->enc = s->head[0] == 0x1f && s->head[1] == 0x8b ? IW_SMT_GZIP : IW_SMT_PLAIN;
		s->decided = 1;
		if (decode_chunk(s, s->head, 2) != 0)
			return s->err;
	}
	return len ? decode_chunk(s, p, len) : 0;
}

/* core/codec.h's emit: base64-decoded bytes are the encoded input. */
static int emit_encoded(void *ctx, const unsigned char *p, size_t len)
{
	return iw_smt_spool_feed(ctx, p, len);
}

/* Strict base64 (core/codec.h iw_b64_feed). */
int iw_smt_spool_feed_base64(struct iw_smt_spool *s, const char *b64, size_t len)
{
	int rc;

	if (s->err)
		return s->err;
	if ((rc = iw_b64_feed(&s->b64, b64, len, emit_encoded, s)) == IW_CODEC_INVALID)
		return spool_fail(s, IW_SMT_SPOOL_EBASE64);
	return rc;
}

static int b64_finish(struct iw_smt_spool *s)
{
	int rc = iw_b64_finish(&s->b64, emit_encoded, s);

	return rc == IW_CODEC_INVALID ? spool_fail(s, IW_SMT_SPOOL_EBASE64) : rc;
}

int iw_smt_spool_finish(struct iw_smt_spool *s)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	if (s->err)
		return s->err;
	if (s->finished)
		return 0;
	if (b64_finish(s) != 0)
		return s->err;
	if (!s->decided) {
		s->enc = IW_SMT_PLAIN;
		s->decided = 1;
		if (s->headn && decode_chunk(s, s->head, s->headn) != 0)
			return s->err;
	}
	if (s->enc == IW_SMT_GZIP && !iw_inflate_complete(&s->gz))
		return spool_fail(s, IW_SMT_SPOOL_EBADGZIP);
	if (EVP_DigestFinal_ex(s->md, md, &mdlen) != 1 || mdlen != 32)
		return spool_fail(s, IW_SMT_SPOOL_EIO);
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(s->sha256 + 2 * i, 3, "%02x", md[i]);
	s->finished = 1;
	return 0;
}

uint64_t iw_smt_spool_size(const struct iw_smt_spool *s)
{
	return s->size;
}

const char *iw_smt_spool_sha256(const struct iw_smt_spool *s)
{
	return s->sha256;
}
