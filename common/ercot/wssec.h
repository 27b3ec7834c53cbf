/* WS-Security X.509 signing of a SOAP 1.1 request (OASIS WSS 1.0 X.509 token
 * profile, XML-DSig with exclusive C14N). No XML library: the signed parts
 * (Body, Timestamp, SignedInfo) are written directly in their canonical form
 * (W3C xml-exc-c14n: visibly used namespaces only, sorted attributes, no
 * empty-element tags, canonical escaping), so the digests are computed over
 * exactly the bytes that go on the wire. */
#ifndef IW_WSSEC_H
#define IW_WSSEC_H

#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

enum iw_wssec_alg {
	IW_WSSEC_RSA_SHA256,            /* rsa-sha256 signature, sha256 digests */
	IW_WSSEC_RSA_SHA1,              /* legacy rsa-sha1 / sha1 */
	IW_WSSEC__MAX
};

/* How long the wsu:Timestamp says the message is valid. */
#define IW_WSSEC_TTL_SECONDS 300

/* Escapes S for canonical XML text content (&amp; &lt; &gt; &#xD;).
 * Returns a malloc'd string, NULL when out of memory. */
char *iw_wssec_c14n_text(const char *s);

/* Builds the signed envelope around BODY_XML, the Body's content. BODY_XML
 * must already be canonical in the Body's context: every element declares
 * the namespace it uses on the outermost element that uses it, no
 * attributes beyond those, no empty-element tags, text escaped with
 * iw_wssec_c14n_text. KEY must be an RSA key and CERT its certificate.
 * On success *OUT is a malloc'd NUL-terminated document of *OUT_LEN bytes
 * and 0 is returned; otherwise -1 with a message in ERR. */
int iw_wssec_sign_envelope(const char *body_xml, EVP_PKEY *key, X509 *cert,
			   enum iw_wssec_alg alg, char **out, size_t *out_len,
			   char *err, size_t errlen);
#endif
