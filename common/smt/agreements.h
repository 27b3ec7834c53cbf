/* The local side of SMT agreements: the SmtAuthorization rows a cancel or a
 * terminate reads and marks EXPIRED. One place for the "authorization ->
 * EXPIRED" UPDATE of both routes. */
#ifndef IW_SMT_AGREEMENTS_H
#define IW_SMT_AGREEMENTS_H

#include <stddef.h>

#include "core/err.h"

/* The authorizations of ESIID (SMT form, 17 digits): their count in *COUNT
 * and, in EMAIL (EMAIL_LEN bytes, "" when none), the first valid contact
 * email, live rows first. 0, or the enum iw_err set in ERROR. */
int iw_smt_agreements_authorizations(const char *smt_esiid, int *count, char *email,
				     size_t email_len, struct iw_error *error);
/* Marks the live authorizations of ESIID EXPIRED after an admin cancel
 * (TICKET may be NULL; it is kept in revokedReason). *UPDATED: rows changed.
 * 0, or the enum iw_err set in ERROR. */
int iw_smt_agreements_expire_esiid(const char *smt_esiid, const char *ticket, long *updated,
				   struct iw_error *error);
/* Marks the live authorizations that carry agreement NUMBER EXPIRED after an
 * admin terminate. *UPDATED: rows changed. 0, or the enum iw_err in ERROR. */
int iw_smt_agreements_expire_number(long long number, long *updated, struct iw_error *error);
#endif
