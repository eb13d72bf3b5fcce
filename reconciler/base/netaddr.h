/*
 * netaddr: peer addresses as the limits count them. One host on an IPv6
 * network may send from any address of its /64, so an IPv6 peer is keyed by
 * that prefix; an IPv4-mapped IPv6 address is its IPv4 address. Pure: text
 * in, text out.
 */
#ifndef RECONCILER_NETADDR_H
#define RECONCILER_NETADDR_H

#include <stddef.h>

/* The key of a peer address (numeric, as the server saw it): "192.0.2.1",
 * "2001:db8:1:2::/64". Anything else ("unix", a name) is its own key. */
void netaddr_peer_key(const char *addr, char *out, size_t outlen);

/* 1 when a numeric host (IPv4 or IPv6, brackets allowed) is a loopback
 * address (127.0.0.0/8, ::1, ::ffff:127.x.y.z), else 0. */
int netaddr_is_loopback(const char *host);

#endif
