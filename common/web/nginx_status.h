/* nginx's stub_status page (the loopback-only /nginx_status location of
 * nginx/iw-server.conf), fetched over loopback HTTP and parsed. */
#ifndef IW_WEB_NGINX_STATUS_H
#define IW_WEB_NGINX_STATUS_H

#include "core/buf.h"

struct iw_nginx_status {
	long long active, accepts, handled, requests, reading, writing, waiting;
};

/* Parses the stub_status TEXT into S: 0, or -1 when it is not that page. */
int iw_nginx_status_parse(const char *text, struct iw_nginx_status *s);
/* GETs URL (2 s at most) and parses it: 0, or -1 with a reason in ERR. */
int iw_nginx_status_fetch(const char *url, struct iw_nginx_status *s, char *err, size_t errlen);
/* The nginx families into B, the "nginx" source_up sample into UP: from
 * NGINX_STATUS_URL, else http://127.0.0.1:PORT/nginx_status (PORT: the
 * request's SERVER_PORT; NULL or not a number: 80). */
void iw_nginx_status_prom(struct iw_buf *b, struct iw_buf *up, const char *port);
#endif
