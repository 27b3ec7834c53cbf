#include "web/listen_guard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "core/log.h"

#define ADDRS_MAX 1024

/* Every entry an IPv4 address as libfcgi's inet_addr() compares it: a typo
 * would otherwise lock nginx out (or, empty, let everyone in). */
static int valid_list(const char *list)
{
	char copy[ADDRS_MAX];
	char *save = NULL;
	int n = 0;

	if (strlen(list) >= sizeof copy)
		return 0;
	memcpy(copy, list, strlen(list) + 1);
	if (copy[0] == ',' || copy[strlen(copy) - 1] == ',' || strstr(copy, ",,"))
		return 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct in_addr a;
		if (inet_pton(AF_INET, tok, &a) != 1)
			return 0;
		n++;
	}
	return n > 0;
}

int iw_listen_check(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	const char *list = getenv(IW_WEB_SERVER_ADDRS);
	char where[INET_ADDRSTRLEN] = "?";

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return 0; /* not a socket: libfcgi reports it */
	if (ss.ss_family == AF_UNIX)
		return 0;
	if (ss.ss_family != AF_INET) {
		iw_logf("error", "start-up refused: FastCGI on a non-IPv4 network socket; libfcgi "
			"checks only IPv4 peers against " IW_WEB_SERVER_ADDRS ": listen on an "
			"IPv4 address or a unix socket");
		return -1;
	}
	inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, where, sizeof where);
	if (!list || !*list) {
		iw_logf("error", "start-up refused: FastCGI on TCP (%s:%u) without "
			IW_WEB_SERVER_ADDRS " would trust any peer; set it to the nginx hosts' "
			"IPv4 addresses, comma-separated", where,
			(unsigned)ntohs(((struct sockaddr_in *)&ss)->sin_port));
		return -1;
	}
	if (!valid_list(list)) {
		iw_logf("error", "start-up refused: " IW_WEB_SERVER_ADDRS " must be IPv4 "
			"addresses separated by commas, no spaces");
		return -1;
	}
	iw_logf("info", "FastCGI on TCP %s:%u, peers allowed: %s", where,
		(unsigned)ntohs(((struct sockaddr_in *)&ss)->sin_port), list);
	return 0;
}
