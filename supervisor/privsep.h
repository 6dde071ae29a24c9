/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Privilege separation: the messages between agentjaild's HTTP process
 * (unprivileged, parses untrusted input) and its monitor (root, makes and
 * ends jails). One SOCK_SEQPACKET pair; one message per datagram.
 *
 * The monitor answers a closed set of typed requests and nothing else. Why
 * each is safe to grant to a process that may have been compromised through
 * its HTTP parser:
 *
 *   PRIV_CREATE   gives a jail of a profile the administrator installed,
 *                 by name: a warm one from the profile's pool, or one built
 *                 for the request. The request can only narrow the
 *                 profile's limits (the monitor clamps each to the
 *                 profile's) and nothing else: no mounts, no ids, no
 *                 namespaces, no environment, no seccomp changes. Live
 *                 jails are capped. The reply hands over one end of the
 *                 worker's socket: the HTTP process reaches that jail's
 *                 worker and no more.
 *   PRIV_DESTROY  ends a jail this monitor made, by the id it gave out; an
 *                 unknown id is an error. Ending a jail is never a gain.
 *   PRIV_PROFILES returns the profiles' public description (names, limits,
 *                 network mode), which the HTTP process serves and checks
 *                 requests against. Read-only.
 *
 * The monitor tells the HTTP process, unasked: PRIV_EXITED when a jail's
 * worker died (the session is over), PRIV_RELOADED after SIGHUP reloaded
 * the profiles, PRIV_POOLS whenever the warm pools changed, PRIV_CONFIG
 * after SIGHUP reread the configuration (the HTTP process takes its
 * authentication, tenants and compatibility settings, and the keys' and
 * certificate's contents, which only root can read).
 */
#ifndef AGENTJAIL_PRIVSEP_H
#define AGENTJAIL_PRIVSEP_H

#include <stdint.h>

#define PRIV_MAX_MSG (1u << 20)

enum priv_type {
	PRIV_CREATE = 1,
	PRIV_DESTROY,
	PRIV_PROFILES,
	PRIV_REPLY = 100, /* to a request: struct priv_reply (+ an fd for CREATE) */
	PRIV_EXITED,	  /* struct priv_exited */
	PRIV_RELOADED,	  /* struct priv_hdr */
	PRIV_POOLS,	  /* struct priv_hdr + JSON: the warm pools' state */
	PRIV_CONFIG,	  /* struct priv_hdr + struct ajd_config + material (auth.h), NUL-ended */
};

struct priv_hdr {
	uint32_t type;
	uint32_t seq; /* chosen by the HTTP process; echoed in PRIV_REPLY */
};

struct priv_create {
	struct priv_hdr h;
	char profile[72];	 /* NUL-terminated name */
	uint64_t memory_max;	 /* 0: the profile's; otherwise at most it */
	uint64_t pids_max;	 /* likewise */
	uint32_t cpu_ms_per_sec; /* likewise */
	uint32_t reserved;
};

struct priv_destroy {
	struct priv_hdr h;
	uint32_t jail_id;
	uint32_t reserved;
};

/* For PRIV_PROFILES the reply is followed by `len` bytes of JSON. */
struct priv_reply {
	struct priv_hdr h;
	int32_t err; /* 0 or errno */
	uint32_t jail_id;
	uint32_t host_uid;
	int32_t pid; /* the worker's pid on the host */
	uint32_t len;
	uint32_t reserved;
	char msg[512]; /* one line, when err != 0 */
};

struct priv_exited {
	struct priv_hdr h;
	uint32_t jail_id;
	int32_t exit_code;
	int32_t signal;
	uint32_t reserved;
};

#endif
