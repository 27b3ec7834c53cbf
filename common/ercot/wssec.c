#include "ercot/wssec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>
#include <openssl/rsa.h>

#define NS_SOAP  "http://schemas.xmlsoap.org/soap/envelope/"
#define NS_WSSE  "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
#define NS_WSU   "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
#define NS_DS    "http://www.w3.org/2000/09/xmldsig#"
#define URI_EXC_C14N "http://www.w3.org/2001/10/xml-exc-c14n#"
#define URI_X509V3 \
	"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
#define URI_BASE64 \
	"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"

/* Bytes of randomness in each wsu:Id (hex-encoded). */
#define ID_RANDOM_BYTES 8
#define ID_MAX 48
#define TIME_MAX 32

static const struct alg_desc {
	const char *signature_uri;
	const char *digest_uri;
	const EVP_MD *(*md)(void);
} algs[IW_WSSEC__MAX] = {
	[IW_WSSEC_RSA_SHA256] = { "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
				  "http://www.w3.org/2001/04/xmlenc#sha256", EVP_sha256 },
	[IW_WSSEC_RSA_SHA1] = { "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
				"http://www.w3.org/2000/09/xmldsig#sha1", EVP_sha1 },
};

static void set_err(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
}

char *iw_wssec_c14n_text(const char *s)
{
	size_t len = 0;
	char *out, *o;

	for (const char *p = s; *p; p++) {
		switch (*p) {
		case '&': len += 5; break;
		case '<': case '>': len += 4; break;
		case '\r': len += 5; break;
		default: len++;
		}
	}
	if (!(out = malloc(len + 1)))
		return NULL;
	o = out;
	for (const char *p = s; *p; p++) {
		switch (*p) {
		case '&': memcpy(o, "&amp;", 5); o += 5; break;
		case '<': memcpy(o, "&lt;", 4); o += 4; break;
		case '>': memcpy(o, "&gt;", 4); o += 4; break;
		case '\r': memcpy(o, "&#xD;", 5); o += 5; break;
		default: *o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

/* Base64 without line breaks; malloc'd. */
static char *b64(const unsigned char *data, size_t len)
{
	char *out;

	if (len > (size_t)0x3fffffff || !(out = malloc(4 * ((len + 2) / 3) + 1)))
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

static int make_id(char *buf, size_t len, const char *prefix)
{
	unsigned char r[ID_RANDOM_BYTES];
	int n;

	if (RAND_bytes(r, sizeof r) != 1)
		return -1;
	n = snprintf(buf, len, "%s-", prefix);
	for (size_t i = 0; i < sizeof r && n > 0 && (size_t)n + 2 < len; i++)
		n += snprintf(buf + n, len - n, "%02x", r[i]);
	return 0;
}

static void utc_time(char *buf, size_t len, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* base64(digest(data)) */
static char *digest_b64(const EVP_MD *md, const char *data, size_t len)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;

	if (EVP_Digest(data, len, d, &dlen, md, NULL) != 1)
		return NULL;
	return b64(d, dlen);
}

static char *cert_b64(X509 *cert)
{
	unsigned char *der = NULL;
	int len = i2d_X509(cert, &der);
	char *out;

	if (len <= 0)
		return NULL;
	out = b64(der, (size_t)len);
	OPENSSL_free(der);
	return out;
}

static char *sign_b64(EVP_PKEY *key, const EVP_MD *md, const char *data, size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *sig = NULL;
	size_t siglen = 0;
	char *out = NULL;

	if (!ctx)
		return NULL;
	if (EVP_DigestSignInit(ctx, NULL, md, NULL, key) != 1 ||
	    EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)data, len) != 1 ||
	    !(sig = OPENSSL_malloc(siglen)) ||
	    EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)data, len) != 1)
		goto out;
	out = b64(sig, siglen);
out:
	OPENSSL_free(sig);
	EVP_MD_CTX_free(ctx);
	return out;
}

/* One ds:Reference in canonical form (it lives inside SignedInfo, whose
 * ds namespace is declared on SignedInfo itself). */
static void put_reference(FILE *f, const struct alg_desc *a, const char *id,
			  const char *digest)
{
	fprintf(f, "<ds:Reference URI=\"#%s\"><ds:Transforms>"
		"<ds:Transform Algorithm=\"" URI_EXC_C14N "\"></ds:Transform>"
		"</ds:Transforms><ds:DigestMethod Algorithm=\"%s\"></ds:DigestMethod>"
		"<ds:DigestValue>%s</ds:DigestValue></ds:Reference>",
		id, a->digest_uri, digest);
}

int iw_wssec_sign_envelope(const char *body_xml, EVP_PKEY *key, X509 *cert,
			   enum iw_wssec_alg alg, char **out, size_t *out_len,
			   char *err, size_t errlen)
{
	char body_id[ID_MAX], ts_id[ID_MAX], bst_id[ID_MAX], sig_id[ID_MAX];
	char created[TIME_MAX], expires[TIME_MAX];
	char *body = NULL, *ts = NULL, *si = NULL, *doc = NULL;
	char *body_digest = NULL, *ts_digest = NULL, *sigval = NULL, *bst = NULL;
	size_t body_len = 0, ts_len = 0, si_len = 0, doc_len = 0;
	const struct alg_desc *a;
	FILE *f;
	time_t now = time(NULL);
	int rc = -1;

	*out = NULL;
	*out_len = 0;
	if ((unsigned)alg >= IW_WSSEC__MAX || !key || !cert) {
		set_err(err, errlen, "wssec: bad arguments");
		return -1;
	}
	if (EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
		/* XML-DSig ECDSA needs raw r||s; ERCOT issues RSA certificates. */
		set_err(err, errlen, "wssec: only RSA signing keys are supported");
		return -1;
	}
	if (X509_check_private_key(cert, key) != 1) {
		set_err(err, errlen, "wssec: the private key does not match the certificate");
		return -1;
	}
	a = &algs[alg];
	if (make_id(body_id, sizeof body_id, "id") || make_id(ts_id, sizeof ts_id, "TS") ||
	    make_id(bst_id, sizeof bst_id, "X509") || make_id(sig_id, sizeof sig_id, "SIG")) {
		set_err(err, errlen, "wssec: no randomness");
		return -1;
	}
	utc_time(created, sizeof created, now);
	utc_time(expires, sizeof expires, now + IW_WSSEC_TTL_SECONDS);

	/* Body: apex of its own exc-c14n, so it declares soapenv and wsu. */
	if (!(f = open_memstream(&body, &body_len)))
		goto oom;
	fprintf(f, "<soapenv:Body xmlns:soapenv=\"" NS_SOAP "\" xmlns:wsu=\"" NS_WSU
		"\" wsu:Id=\"%s\">%s</soapenv:Body>", body_id, body_xml);
	if (fclose(f) || !body)
		goto oom;

	if (!(f = open_memstream(&ts, &ts_len)))
		goto oom;
	fprintf(f, "<wsu:Timestamp xmlns:wsu=\"" NS_WSU "\" wsu:Id=\"%s\"><wsu:Created>%s"
		"</wsu:Created><wsu:Expires>%s</wsu:Expires></wsu:Timestamp>",
		ts_id, created, expires);
	if (fclose(f) || !ts)
		goto oom;

	if (!(body_digest = digest_b64(a->md(), body, body_len)) ||
	    !(ts_digest = digest_b64(a->md(), ts, ts_len)) || !(bst = cert_b64(cert)))
		goto oom;

	if (!(f = open_memstream(&si, &si_len)))
		goto oom;
	fprintf(f, "<ds:SignedInfo xmlns:ds=\"" NS_DS "\"><ds:CanonicalizationMethod Algorithm=\""
		URI_EXC_C14N "\"></ds:CanonicalizationMethod><ds:SignatureMethod Algorithm=\"%s\">"
		"</ds:SignatureMethod>", a->signature_uri);
	put_reference(f, a, ts_id, ts_digest);
	put_reference(f, a, body_id, body_digest);
	fputs("</ds:SignedInfo>", f);
	if (fclose(f) || !si)
		goto oom;

	if (!(sigval = sign_b64(key, a->md(), si, si_len))) {
		set_err(err, errlen, "wssec: signing failed");
		goto out;
	}

	if (!(f = open_memstream(&doc, &doc_len)))
		goto oom;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<soapenv:Envelope xmlns:soapenv=\"" NS_SOAP "\" xmlns:wsu=\"" NS_WSU "\">"
		"<soapenv:Header><wsse:Security xmlns:wsse=\"" NS_WSSE
		"\" soapenv:mustUnderstand=\"1\">%s"
		"<wsse:BinarySecurityToken EncodingType=\"" URI_BASE64 "\" ValueType=\""
		URI_X509V3 "\" wsu:Id=\"%s\">%s</wsse:BinarySecurityToken>"
		"<ds:Signature xmlns:ds=\"" NS_DS "\" Id=\"%s\">%s"
		"<ds:SignatureValue>%s</ds:SignatureValue><ds:KeyInfo>"
		"<wsse:SecurityTokenReference><wsse:Reference URI=\"#%s\" ValueType=\""
		URI_X509V3 "\"/></wsse:SecurityTokenReference></ds:KeyInfo></ds:Signature>"
		"</wsse:Security></soapenv:Header>%s</soapenv:Envelope>\n",
		ts, bst_id, bst, sig_id, si, sigval, bst_id, body);
	if (fclose(f) || !doc)
		goto oom;
	*out = doc;
	*out_len = doc_len;
	doc = NULL;
	rc = 0;
	goto out;
oom:
	set_err(err, errlen, "wssec: out of memory");
out:
	free(doc);
	free(body);
	free(ts);
	free(si);
	free(body_digest);
	free(ts_digest);
	free(sigval);
	free(bst);
	return rc;
}
