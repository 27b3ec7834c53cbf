/* Which peers a route program accepts on its listening socket. On a unix
 * socket the file mode decides. On TCP, libfcgi (2.4.2, os_unix.c OS_Accept)
 * closes a connection from an IPv4 peer missing from FCGI_WEB_SERVER_ADDRS,
 * but accepts everyone when that variable is unset and never checks an IPv6
 * peer. FastCGI trusts its peer for every header and for REMOTE_ADDR, so a
 * program refuses to start on a TCP socket without that allow-list. */
#ifndef IW_LISTEN_GUARD_H
#define IW_LISTEN_GUARD_H

#define IW_WEB_SERVER_ADDRS "FCGI_WEB_SERVER_ADDRS"

/* 0 when serving on FD is safe: a unix socket, or an IPv4 TCP socket with
 * FCGI_WEB_SERVER_ADDRS a comma-separated list of IPv4 addresses. Else logs
 * why and returns -1. */
int iw_listen_check(int fd);
#endif
