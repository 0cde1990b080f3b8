/* SPDX-License-Identifier: MIT */
/*
 * listen: socket binding shared by the shipper listener and the HTTP API,
 * so both parse addresses the same way (evutil_parse_sockaddr_port) and
 * both can report the port the kernel chose for port 0. No logging.
 */
#include "collector/ingest/listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/util.h>

#include "common/xmalloc.h"

int
listen_parse_addr(const char *addr, struct sockaddr_storage *ss, int *len)
{
    const char *colon = strrchr(addr, ':');
    char host[INET6_ADDRSTRLEN + 3], *end;

    /* libevent's parser rejects port 0, so the port is parsed here. */
    if (colon == NULL || colon == addr || (size_t)(colon - addr) >= sizeof(host))
        return -1;
    if (colon[1] < '0' || colon[1] > '9')
        return -1;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || port < 0 || port > 65535)
        return -1;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    memset(ss, 0, sizeof(*ss));
    *len = sizeof(*ss);
    if (evutil_parse_sockaddr_port(host, (struct sockaddr *)ss, len) < 0)
        return -1;
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    else if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    else
        return -1;
    return 0;
}

struct evconnlistener *
listen_bind(struct event_base *base, const char *addr, evconnlistener_cb cb,
            void *arg, char **errstr)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);

    if (listen_parse_addr(addr, &ss, &len) < 0) {
        *errstr = xasprintf("bad address '%s'", addr);
        return NULL;
    }
    unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
                     LEV_OPT_CLOSE_ON_EXEC;
    struct evconnlistener *l = evconnlistener_new_bind(
        base, cb, arg, flags, 128, (struct sockaddr *)&ss, len);
    if (l == NULL) {
        *errstr = xasprintf("cannot listen on %s: %s", addr,
                            strerror(errno));
        return NULL;
    }
    return l;
}

int
listen_port(struct evconnlistener *l)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&ss,
                    &len) < 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

void
listen_format_peer(const struct sockaddr *sa, char *out, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";

    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        evutil_inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
        snprintf(out, len, "%s:%d", ip, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        evutil_inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
        snprintf(out, len, "[%s]:%d", ip, ntohs(in6->sin6_port));
    } else {
        snprintf(out, len, "unknown");
    }
}
