/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Network backend "none": a fresh network namespace with only lo, brought
 * up through libnl. The parent does the netlink work (no libnl in the
 * child, no `ip` command), on a socket the child made inside the new
 * namespace: a netlink socket talks to the namespace it was created in,
 * and the kernel checks CAP_NET_ADMIN against both the socket's creator
 * (the child, privileged in its user namespace at that point) and the
 * sender (the parent, privileged over every namespace it made).
 */
#include <linux/netlink.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/macvlan.h>
#include <netlink/route/link/veth.h>
#include <sched.h>
#include <sys/wait.h>
#include <netlink/socket.h>
#include <sys/socket.h>

#include "internal.h"
#include "net.h"

int
net_child_socket(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static void
nl_sock_freep(struct nl_sock **sk)
{
	if (*sk)
		nl_socket_free(*sk); /* closes the fd it was given */
}

static void
link_putp(struct rtnl_link **l)
{
	if (*l)
		rtnl_link_put(*l);
}

int
net_lo_up(int fd, struct jail_error *e)
{
	__attribute__((cleanup(nl_sock_freep))) struct nl_sock *sk = nl_socket_alloc();
	__attribute__((cleanup(link_putp))) struct rtnl_link *lo = NULL;
	__attribute__((cleanup(link_putp))) struct rtnl_link *change = NULL;
	int r;

	if (!sk) {
		close(fd);
		return jerr(e, ENOMEM, "network: allocate netlink socket");
	}
	r = nl_socket_set_fd(sk, NETLINK_ROUTE, fd);
	if (r < 0) {
		close(fd);
		return jerr_plain(e, EIO, "network: use netlink socket: %s", nl_geterror(r));
	}
	r = rtnl_link_get_kernel(sk, 0, "lo", &lo);
	if (r < 0)
		return jerr_plain(e, ENODEV, "network: look up lo: %s", nl_geterror(r));
	change = rtnl_link_alloc();
	if (!change)
		return jerr(e, ENOMEM, "network: bring lo up");
	rtnl_link_set_flags(change, IFF_UP);
	r = rtnl_link_change(sk, lo, change, 0);
	if (r < 0)
		return jerr_plain(e, EIO, "network: bring lo up: %s", nl_geterror(r));
	return 0;
}

/* Can this kernel make veth pairs and macvlan links? Tried for real, in a
 * network namespace of a child process, which takes them along when it
 * exits. Returns a mask: 1 veth, 2 macvlan. */
int
net_probe_links(void)
{
	pid_t p = fork();

	if (p < 0)
		return 0;
	if (p == 0) {
		int mask = 0;
		struct rtnl_link *veth = NULL, *mv = NULL;
		struct nl_sock *sk;

		if (unshare(CLONE_NEWNET) < 0 || !(sk = nl_socket_alloc()))
			_exit(0);
		if (nl_connect(sk, NETLINK_ROUTE) < 0)
			_exit(0);
		if (rtnl_link_veth_add(sk, "ajprobe0", "ajprobe1", getpid()) == 0 &&
		    rtnl_link_get_kernel(sk, 0, "ajprobe0", &veth) == 0) {
			mask |= 1;
			mv = rtnl_link_macvlan_alloc();
			if (mv) {
				rtnl_link_set_link(mv, rtnl_link_get_ifindex(veth));
				rtnl_link_set_name(mv, "ajprobe2");
				if (rtnl_link_add(sk, mv, NLM_F_CREATE) == 0)
					mask |= 2;
			}
		}
		_exit(mask);
	}
	int st = 0;
	while (waitpid(p, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 0;
}
