/* SPDX-License-Identifier: Apache-2.0 */
#ifndef AGENTJAIL_NET_H
#define AGENTJAIL_NET_H

#include "jail.h"

/* In the child: a bound NETLINK_ROUTE socket in its own network namespace,
 * made before privileges drop and handed to the parent. */
int net_child_socket(void);
/* In the parent: bring `lo` up through that socket (libnl). Takes fd. */
int net_lo_up(int fd, struct jail_error *e);

/* 1: veth pairs can be made, 2: macvlan links can (tried in a throwaway
 * network namespace). */
int net_probe_links(void);

#endif
