/* Which listening sockets a route program agrees to serve on: unix always;
 * TCP only on IPv4 with FCGI_WEB_SERVER_ADDRS a list of IPv4 addresses. */
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "web/listen_guard.h"
#include "unit.h"

static int listener(int family)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int fd = socket(family, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof *a;
	} else if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		len = sizeof *a;
	} else {
		ss.ss_family = AF_UNIX; /* autobind: an abstract name */
		len = sizeof(sa_family_t);
	}
	if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 1) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int main(void)
{
	int tcp = listener(AF_INET), unx = listener(AF_UNIX), v6 = listener(AF_INET6);
	int fds[2];

	CHECK(tcp >= 0);
	CHECK(unx >= 0);
	unsetenv(IW_WEB_SERVER_ADDRS);
	CHECK_INT(iw_listen_check(unx), 0);
	CHECK_INT(iw_listen_check(tcp), -1); /* libfcgi would trust every peer */
	setenv(IW_WEB_SERVER_ADDRS, "", 1);
	CHECK_INT(iw_listen_check(tcp), -1);
	setenv(IW_WEB_SERVER_ADDRS, "10.0.0.1", 1);
	CHECK_INT(iw_listen_check(tcp), 0);
	CHECK_INT(iw_listen_check(unx), 0);
	setenv(IW_WEB_SERVER_ADDRS, "10.0.0.1,10.0.0.2", 1);
	CHECK_INT(iw_listen_check(tcp), 0);
	setenv(IW_WEB_SERVER_ADDRS, "10.0.0.1, 10.0.0.2", 1); /* inet_addr(" 10...") */
	CHECK_INT(iw_listen_check(tcp), -1);
	setenv(IW_WEB_SERVER_ADDRS, "10.0.0.1,", 1);
	CHECK_INT(iw_listen_check(tcp), -1);
	setenv(IW_WEB_SERVER_ADDRS, "nginx.internal", 1);
	CHECK_INT(iw_listen_check(tcp), -1);
	setenv(IW_WEB_SERVER_ADDRS, "::1", 1);
	CHECK_INT(iw_listen_check(tcp), -1);
	setenv(IW_WEB_SERVER_ADDRS, "10.0.0.1", 1);
	if (v6 >= 0) /* IPv6 peers are never checked by libfcgi */
		CHECK_INT(iw_listen_check(v6), -1);
	CHECK(pipe(fds) == 0); /* not a socket: left to libfcgi */
	CHECK_INT(iw_listen_check(fds[0]), 0);
	close(fds[0]);
	close(fds[1]);
	close(tcp);
	close(unx);
	if (v6 >= 0)
		close(v6);
	return unit_report("listen_guard");
}
