/* SMT figures for GET /metrics: what arrived in the last 24 h and how old
 * the newest interval is. */
#ifndef IW_SMT_METRICS_H
#define IW_SMT_METRICS_H

#include "core/buf.h"

#include "core/err.h"

struct iw_smt_metrics {
	long long raw_files_24h;   /* raw_smt_files received in the last 24 h */
	long long intervals_24h;   /* SmtInterval rows created in the last 24 h */
	int have_newest;
	double newest_age_s;       /* now - the newest SmtInterval "createdAt" */
};

/* 0, or -1 with ERROR set. */
int iw_smt_metrics_read(struct iw_smt_metrics *out, struct iw_error *error);
/* The SMT and SMT-cron families into B, their source_up samples ("smt",
 * "smt_cron") into UP. */
void iw_smt_metrics_prom(struct iw_buf *b, struct iw_buf *up);
#endif
