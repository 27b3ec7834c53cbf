/* Text that must reach Postgres (UTF-8 databases) from files that are not
 * always UTF-8: SMT exports opened and saved in a spreadsheet, or legacy
 * extracts, come back in Windows-1252. Valid UTF-8 is kept as it is; every
 * byte that does not start a valid sequence (stray continuation, truncated or
 * overlong sequence, surrogate, above U+10FFFF) is read as Windows-1252 (that
 * is Latin-1, but for the punctuation at 0x80-0x9F: 0x92 is ’, not a control
 * code) and written as the UTF-8 of that character, so "Caf\xE9" becomes
 * "Café" and nothing is lost or refused. NUL is left to the caller (C strings
 * end there). */
#ifndef IW_UTF8_FIX_H
#define IW_UTF8_FIX_H

#include <stddef.h>

/* Length of the valid UTF-8 sequence at S (N bytes left), 0 when invalid. */
size_t iw_utf8_seq_len(const unsigned char *s, size_t n);
/* Code point CP (at most U+10FFFF, not a surrogate) as UTF-8 at O (room
 * for 4 bytes): its length. */
size_t iw_utf8_put(char *o, unsigned long cp);
/* 1 when S (N bytes) is valid UTF-8. */
int iw_utf8_valid(const char *s, size_t n);
/* The repaired copy of S (N bytes) written at OUT (room for 3N bytes: € is
 * three; not NUL-terminated): its length. */
size_t iw_utf8_repair_to(const char *s, size_t n, char *out);
/* The repaired copy of S (N bytes), NUL-terminated and malloc'd (at most
 * 3N + 1 bytes), its length in *OUTN; NULL when out of memory. */
char *iw_utf8_repair(const char *s, size_t n, size_t *outn);
#endif
