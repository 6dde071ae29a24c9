/* SPDX-License-Identifier: Apache-2.0 */
#ifndef AGENTJAIL_UIDALLOC_H
#define AGENTJAIL_UIDALLOC_H

#include <stdbool.h>
#include <stdint.h>

#include "jail.h"

/* A host uid (and the gid of the same number) held for one jail. */
struct uid_lease {
	int fd; /* open file description holding the lock; -1 if none */
	uint32_t id;
};

#define UID_LEASE_NONE ((struct uid_lease){.fd = -1, .id = 0})

/* Take `want` (or, with JAIL_ID_AUTO, any free id in [lo, hi]) for as long
 * as any process holds ret->fd. */
int uidalloc_acquire(const char *runtime_dir, uint32_t lo, uint32_t hi, uint32_t want,
		     struct uid_lease *ret, struct jail_error *e);
void uidalloc_release(struct uid_lease *l);
/* Whether some process holds host id `id` (when unsure: true). */
bool uidalloc_in_use(const char *runtime_dir, uint32_t id);
/* Refuse a range that overlaps an entry of /etc/subuid or /etc/subgid
 * (files given for tests; NULL = the system's). */
int uidalloc_check_subids(const char *subuid, const char *subgid, uint32_t lo, uint32_t hi,
			  struct jail_error *e);

#endif
