/* The spool of an SMT file: decoded bytes (gzip, base64) written once to an
 * unlinked temporary file while their sha256 is computed. */
#include "smt/spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "core/config.h"
#include "core/log.h"

#define SPOOL_CHUNK      (64 * 1024)   /* inflate output / read-back chunk */
#define B64_CHUNK        (48 * 1024)   /* decoded bytes per flush */

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
	const char *dir = getenv("TMPDIR");
	char path[4096];

	if (!s)
		goto fail;
	s->fd = -1;
	s->enc = enc;
	s->decided = enc != IW_SMT_AUTO;
	s->max = max_decoded;
	s->errbuf = err;
	s->errlen = errlen;
	snprintf(path, sizeof path, "%s/iw-smt-XXXXXX", dir && *dir ? dir : "/tmp");
	if ((s->fd = mkostemp(path, O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "cannot create a temporary file: %s", strerror(errno));
		goto fail;
	}
	unlink(path); /* gone with the descriptor, whatever happens */
	if (!(s->out = malloc(SPOOL_CHUNK)) || !(s->md = EVP_MD_CTX_new()) ||
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
	if (s->z_init)
		inflateEnd(&s->z);
	EVP_MD_CTX_free(s->md);
	free(s->out);
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

static int inflate_some(struct iw_smt_spool *s, const unsigned char *p, size_t len)
{
	if (!s->z_init) {
		/* 16 + MAX_WBITS: gzip wrapper only. */
		if (inflateInit2(&s->z, 16 + MAX_WBITS) != Z_OK)
			return spool_fail(s, IW_SMT_SPOOL_EIO);
		s->z_init = 1;
	}
	s->z.next_in = (unsigned char *)p;
	s->z.avail_in = (uInt)len;
	for (;;) {
		size_t produced;
		int zr;

		if (s->z_ended) {
			if (s->z.avail_in == 0)
				return 0;
			/* Another gzip member follows (gzip files may be concatenated). */
			if (inflateReset(&s->z) != Z_OK)
				return spool_fail(s, IW_SMT_SPOOL_EBADGZIP);
			s->z_ended = 0;
		}
		s->z.next_out = s->out;
		s->z.avail_out = SPOOL_CHUNK;
		zr = inflate(&s->z, Z_NO_FLUSH);
		produced = SPOOL_CHUNK - s->z.avail_out;
		/* Bombs stop here: write_decoded refuses past the cap. */
		if (produced && write_decoded(s, s->out, produced) != 0)
			return s->err;
		if (zr == Z_STREAM_END) {
			s->z_ended = 1;
			continue;
		}
		if (zr == Z_BUF_ERROR || (zr == Z_OK && s->z.avail_in == 0 && produced < SPOOL_CHUNK))
			return 0; /* needs more input */
		if (zr != Z_OK)
			return spool_fail(s, IW_SMT_SPOOL_EBADGZIP);
	}
}

static int decode_chunk(struct iw_smt_spool *s, const unsigned char *p, size_t len)
{
	return s->enc == IW_SMT_GZIP ? inflate_some(s, p, len) : write_decoded(s, p, len);
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

static int b64_value(int c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

static int b64_flush(struct iw_smt_spool *s)
{
	int rc = 0;
	if (s->outn) {
		unsigned char tmp[B64_CHUNK];
		size_t n = s->outn;
		/* s->out is also the inflate buffer: decode output moves aside. */
		memcpy(tmp, s->out, n);
		s->outn = 0;
		rc = iw_smt_spool_feed(s, tmp, n);
	}
	return rc;
}

static int b64_emit(struct iw_smt_spool *s, unsigned char c)
{
	s->out[s->outn++] = c;
	return s->outn == B64_CHUNK ? b64_flush(s) : 0;
}

/* Strict base64 (standard alphabet); white space anywhere, '=' padding only
 * at the end, a missing padding tolerated. */
int iw_smt_spool_feed_base64(struct iw_smt_spool *s, const char *b64, size_t len)
{
	if (s->err)
		return s->err;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)b64[i], v;
		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			if (s->b64_n < 2 || ++s->b64_pad > 2)
				return spool_fail(s, IW_SMT_SPOOL_EBASE64);
			continue;
		}
		if (s->b64_pad || (v = b64_value(c)) < 0)
			return spool_fail(s, IW_SMT_SPOOL_EBASE64);
		s->b64_quad = (s->b64_quad << 6) | (unsigned)v;
		if (++s->b64_n == 4) {
			if (b64_emit(s, (unsigned char)(s->b64_quad >> 16)) ||
			    b64_emit(s, (unsigned char)(s->b64_quad >> 8)) ||
			    b64_emit(s, (unsigned char)s->b64_quad))
				return s->err;
			s->b64_n = 0;
			s->b64_quad = 0;
		}
	}
	return 0;
}

static int b64_finish(struct iw_smt_spool *s)
{
	unsigned q = s->b64_quad;

	switch (s->b64_n) {
	case 0:
		if (s->b64_pad)
			return spool_fail(s, IW_SMT_SPOOL_EBASE64);
		break;
	case 1:
		return spool_fail(s, IW_SMT_SPOOL_EBASE64);
	case 2:
		if ((q & 0xF) || (s->b64_pad && s->b64_pad != 2))
			return spool_fail(s, IW_SMT_SPOOL_EBASE64);
		if (b64_emit(s, (unsigned char)(q >> 4)))
			return s->err;
		break;
	case 3:
		if ((q & 0x3) || (s->b64_pad && s->b64_pad != 1))
			return spool_fail(s, IW_SMT_SPOOL_EBASE64);
		if (b64_emit(s, (unsigned char)(q >> 10)) || b64_emit(s, (unsigned char)(q >> 2)))
			return s->err;
		break;
	}
	s->b64_n = s->b64_pad = 0;
	return b64_flush(s);
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
	if (s->enc == IW_SMT_GZIP && !s->z_ended)
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
