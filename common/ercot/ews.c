#include "ercot/ews.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <zlib.h>

#include "core/codec.h"
#include "core/err.h"
#include "core/config.h"
#include "core/xml.h"
#include "ercot/wssec.h"
#include "io/http.h"

#define NS_EWS_MESSAGE "http://www.ercot.com/schema/2007-06/nodal/ews/message"
#define ENDPOINT_MAX   2048
#define NAME_MAX_LEN   256
#define NONCE_BYTES    16
#define MAX_REPORTS    100000
#define FAULT_MAX      512
/* Bytes of an error reply kept for the message. */
#define ERROR_BODY_MAX 200

/* The loaded client certificate; lives for the process like the handle. */
struct ews_creds {
	int loaded;
	unsigned char *p12;             /* DER PKCS#12, handed to io/http.c as is */
	size_t p12_len;
	char *pass;
	char *cert_pem;                 /* or PEM text */
	char *key_pem;
	char *ca_pem;
	EVP_PKEY *key;                  /* OpenSSL form, for signing */
	X509 *cert;
	char common_name[NAME_MAX_LEN];
};

static struct ews_creds creds;

static void free_secret(char *s, size_t len)
{
	if (!s)
		return;
	OPENSSL_cleanse(s, len);
	free(s);
}

static void free_secret_str(char *s)
{
	if (s)
		free_secret(s, strlen(s));
}

static void creds_free(void)
{
	free_secret((char *)creds.p12, creds.p12_len);
	free_secret_str(creds.pass);
	free(creds.cert_pem);
	free_secret_str(creds.key_pem);
	free(creds.ca_pem);
	EVP_PKEY_free(creds.key);
	X509_free(creds.cert);
	memset(&creds, 0, sizeof creds);
}

void iw_ews_cleanup(void)
{
	creds_free(); /* the handle is io/http.c's (iw_http_cleanup) */
}

int iw_ews_configured(void)
{
	if (!iw_env("ERCOT_EWS_BASE"))
		return 0;
	return iw_env("ERCOT_EWS_PFX") != NULL ||
	       (iw_env("ERCOT_EWS_CERT") != NULL && iw_env("ERCOT_EWS_KEY") != NULL);
}

int iw_ews_endpoint(char *buf, size_t len)
{
	const char *base = iw_env("ERCOT_EWS_BASE");
	const char *host, *path;
	size_t blen;
	int n;

	if (!base)
		return -1;
	blen = strlen(base);
	host = strstr(base, "://");
	host = host ? host + 3 : base;
	path = strchr(host, '/');
	if (path && strcmp(path, "/") != 0) {
		n = snprintf(buf, len, "%s", base);         /* a path was given: as is */
	} else {
		if (path)
			blen--;                             /* drop the lone "/" */
		n = snprintf(buf, len, "%.*s%s", (int)blen, base, IW_EWS_SOAP_PATH);
	}
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* PEM from an environment value: the two characters "\n" become a newline. */
static char *pem_unescape(const char *s)
{
	char *out = malloc(strlen(s) + 2), *o = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] == 'n') {
			*o++ = '\n';
			s++;
		} else if (s[0] == '\\' && s[1] == 'r') {
			s++;
		} else {
			*o++ = *s;
		}
	}
	if (o == out || o[-1] != '\n')
		*o++ = '\n';
	*o = '\0';
	return out;
}
static int load_pfx(const char *pfx, char *err, size_t errlen)
{
	const unsigned char *p;
	PKCS12 *p12 = NULL;
	STACK_OF(X509) *chain = NULL;
	int rc = -1;

	if (!(creds.p12 = iw_base64_decode(pfx, strlen(pfx), &creds.p12_len))) {
		iw_errf(err, errlen, "ERCOT_EWS_PFX is not valid base64");
		return -1;
	}
	p = creds.p12;
	if (!(p12 = d2i_PKCS12(NULL, &p, (long)creds.p12_len))) {
		iw_errf(err, errlen, "ERCOT_EWS_PFX is not a PKCS#12 file");
		goto out;
	}
	if (PKCS12_parse(p12, creds.pass, &creds.key, &creds.cert, &chain) != 1) {
		iw_errf(err, errlen, "ERCOT_EWS_PFX cannot be opened (wrong ERCOT_EWS_PFX_PASS?)");
		goto out;
	}
	if (!creds.key || !creds.cert) {
		iw_errf(err, errlen, "ERCOT_EWS_PFX holds no key and certificate");
		goto out;
	}
	rc = 0;
out:
	sk_X509_pop_free(chain, X509_free);
	PKCS12_free(p12);
	return rc;
}

static int load_pem(const char *cert, const char *key, char *err, size_t errlen)
{
	BIO *bio = NULL;
	int rc = -1;

	if (!(creds.cert_pem = pem_unescape(cert)) || !(creds.key_pem = pem_unescape(key))) {
		iw_errf(err, errlen, "out of memory");
		return -1;
	}
	if (!(bio = BIO_new_mem_buf(creds.cert_pem, -1)) ||
	    !(creds.cert = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		iw_errf(err, errlen, "ERCOT_EWS_CERT is not a PEM certificate");
		goto out;
	}
	BIO_free(bio);
	/* A NULL callback with a string makes OpenSSL use it as the passphrase
	 * instead of prompting on a terminal. */
	if (!(bio = BIO_new_mem_buf(creds.key_pem, -1)) ||
	    !(creds.key = PEM_read_bio_PrivateKey(bio, NULL, NULL,
						   (void *)(creds.pass ? creds.pass : "")))) {
		iw_errf(err, errlen, "ERCOT_EWS_KEY is not a PEM private key (or its passphrase is wrong)");
		goto out;
	}
	rc = 0;
out:
	BIO_free(bio);
	return rc;
}

static int load_creds(char *err, size_t errlen)
{
	const char *pfx = iw_env("ERCOT_EWS_PFX"), *pass = iw_env("ERCOT_EWS_PFX_PASS");
	const char *cert = iw_env("ERCOT_EWS_CERT"), *key = iw_env("ERCOT_EWS_KEY");
	const char *ca = iw_env("ERCOT_EWS_CA");
	int rc;

	if (creds.loaded)
		return 0;
	creds_free();
	if (pass && !(creds.pass = strdup(pass)))
		goto oom;
	if (ca && !(creds.ca_pem = pem_unescape(ca)))
		goto oom;
	if (pfx)
		rc = load_pfx(pfx, err, errlen);
	else if (cert && key)
		rc = load_pem(cert, key, err, errlen);
	else {
		iw_errf(err, errlen, "no EWS client certificate (ERCOT_EWS_PFX or ERCOT_EWS_CERT + ERCOT_EWS_KEY)");
		rc = -1;
	}
	if (rc == 0 && X509_check_private_key(creds.cert, creds.key) != 1) {
		iw_errf(err, errlen, "the EWS private key does not match its certificate");
		rc = -1;
	}
	ERR_clear_error();
	if (rc) {
		creds_free();
		return -1;
	}
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(creds.cert), NID_commonName,
				      creds.common_name, sizeof creds.common_name) < 0)
		creds.common_name[0] = '\0';
	creds.loaded = 1;
	return 0;
oom:
	iw_errf(err, errlen, "out of memory");
	creds_free();
	return -1;
}

/* The transfer options of every EWS call: https only, mutual TLS with the
 * loaded certificate, ERCOT_EWS_CA (or the system store). 0, or -1 (ERR). */
static int ews_opts(struct iw_http_opts *o, long timeout_ms, char *err, size_t errlen)
{
	if (load_creds(err, errlen))
		return -1;
	*o = (struct iw_http_opts){
		.connect_ms = IW_EWS_CONNECT_TIMEOUT_MS,
		.timeout_ms = timeout_ms,
		.ca_pem = creds.ca_pem,
		.https_only = 1,
		.cert = creds.p12 ? (const void *)creds.p12 : creds.cert_pem,
		.cert_len = creds.p12 ? creds.p12_len : strlen(creds.cert_pem),
		.cert_type = creds.p12 ? "P12" : "PEM",
		.key_pem = creds.p12 ? NULL : creds.key_pem,
		.key_pass = creds.pass,
	};
	return 0;
}

static void utc_now(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The RequestMessage in canonical form (see iw_wssec_sign_envelope). */
static char *build_request(char *err, size_t errlen)
{
	unsigned char raw[NONCE_BYTES];
	char nonce[2 * NONCE_BYTES + 4], created[32];
	const char *source = iw_env("ERCOT_EWS_SOURCE"), *user = iw_env("ERCOT_EWS_USERID");
	long long type = iw_env_int("ERCOT_EWS_REPORTTYPE", IW_EWS_DEFAULT_REPORTTYPE, 1,
				    999999999);
	char *src = NULL, *uid = NULL, *out = NULL;

	if (RAND_bytes(raw, sizeof raw) != 1) {
		iw_errf(err, errlen, "no randomness for the nonce");
		return NULL;
	}
	EVP_EncodeBlock((unsigned char *)nonce, raw, sizeof raw);
	utc_now(created, sizeof created);
	if (!(src = iw_wssec_c14n_text(source ? source : creds.common_name)) ||
	    !(uid = iw_wssec_c14n_text(user ? user : creds.common_name)) ||
	    asprintf(&out, "<RequestMessage xmlns=\"" NS_EWS_MESSAGE "\"><Header><Verb>get</Verb>"
		     "<Noun>Reports</Noun><ReplayDetection><Nonce>%s</Nonce><Created>%s</Created>"
		     "</ReplayDetection><Revision>1</Revision><Source>%s</Source>"
		     "<UserID>%s</UserID></Header><Request><Option>%lld</Option></Request>"
		     "</RequestMessage>", nonce, created, src, uid, type) < 0) {
		out = NULL;
		iw_errf(err, errlen, "out of memory");
	}
	free(src);
	free(uid);
	return out;
}

/* ---- transfers -------------------------------------------------------- */

static int is_https(const char *url)
{
	return strncasecmp(url, "https://", 8) == 0;
}

int iw_ews_list_reports(struct iw_ews_report **out, size_t *n, char *err, size_t errlen)
{
	static const char *const headers[] = {
		"Content-Type: text/xml; charset=utf-8",
		"SOAPAction: \"" IW_EWS_SOAP_ACTION "\"",
		"Expect:",
		NULL,
	};
	char endpoint[ENDPOINT_MAX], alg_err[128];
	const char *alg_name = iw_env_or("ERCOT_EWS_SIGALG", "sha256");
	enum iw_wssec_alg alg;
	struct iw_http_opts opts;
	struct iw_http_got reply = { 0 };
	char *body = NULL, *doc = NULL;
	size_t doc_len = 0;
	long status;
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (iw_ews_endpoint(endpoint, sizeof endpoint)) {
		iw_errf(err, errlen, "ERCOT_EWS_BASE is not set");
		return -1;
	}
	if (!is_https(endpoint)) {
		iw_errf(err, errlen, "ERCOT_EWS_BASE must be an https URL");
		return -1;
	}
	if (strcasecmp(alg_name, "sha256") == 0)
		alg = IW_WSSEC_RSA_SHA256;
	else if (strcasecmp(alg_name, "sha1") == 0)
		alg = IW_WSSEC_RSA_SHA1;
	else {
		iw_errf(err, errlen, "ERCOT_EWS_SIGALG must be sha256 or sha1");
		return -1;
	}
	if (ews_opts(&opts, IW_EWS_LIST_TIMEOUT_MS, err, errlen))
		return -1;
	if (!(body = build_request(err, errlen)))
		goto out;
	if (iw_wssec_sign_envelope(body, creds.key, creds.cert, alg, &doc, &doc_len,
				   alg_err, sizeof alg_err)) {
		iw_errf(err, errlen, "%s", alg_err);
		goto out;
	}
	if (iw_http_get(endpoint, headers, doc, IW_EWS_MAX_REPLY, &opts, &reply) != 0) {
		iw_errf(err, errlen, "EWS request to %s failed: %s", endpoint, reply.error);
		goto out;
	}
	status = reply.status;
	if (status < 200 || status >= 300) {
		/* SOAP 1.1 faults arrive as HTTP 500 with a Fault body. */
		if (reply.len && iw_ews_parse_reply(reply.body, reply.len, out, n, err, errlen)) {
			size_t used = err ? strlen(err) : 0;
			if (err && used + 1 < errlen)
				snprintf(err + used, errlen - used, " (HTTP %ld)", status);
		} else {
			iw_ews_reports_free(*out, *n);
			*out = NULL;
			*n = 0;
			iw_errf(err, errlen, "EWS answered HTTP %ld: %.*s", status, ERROR_BODY_MAX,
				reply.body ? reply.body : "");
		}
		goto out;
	}
	if (!reply.len) {
		iw_errf(err, errlen, "EWS answered an empty reply");
		goto out;
	}
	rc = iw_ews_parse_reply(reply.body, reply.len, out, n, err, errlen);
out:
	free(body);
	free(doc);
	iw_http_got_free(&reply);
	return rc;
}

int iw_ews_download(const char *url, size_t (*sink)(const void *, size_t, void *),
		    void *ctx, char *err, size_t errlen)
{
	struct iw_http_opts opts;
	char why[512];
	long status = 0, retry_after;

	if (!url || !sink) {
		iw_errf(err, errlen, "download: no URL or sink");
		return -1;
	}
	if (!is_https(url)) {
		iw_errf(err, errlen, "download: only https URLs are fetched");
		return -1;
	}
	if (ews_opts(&opts, IW_EWS_DOWNLOAD_TIMEOUT_MS, err, errlen))
		return -1;
	opts.low_speed_bytes = IW_EWS_LOW_SPEED_BYTES;
	opts.low_speed_s = IW_EWS_LOW_SPEED_SECONDS;
	/* No headers: redirects are followed (at most 5, https only). */
	if (iw_http_stream(url, NULL, &opts, sink, ctx, &status, &retry_after, why, sizeof why) == 0)
		return 0;
	if (status && (status < 200 || status > 299))
		iw_errf(err, errlen, "download answered %s", why); /* "HTTP 404: ..." */
	else
		iw_errf(err, errlen, "download failed: %s", why);
	return -1;
}
