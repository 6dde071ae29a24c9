/* SPDX-License-Identifier: Apache-2.0 */
#ifndef AGENTJAIL_MOUNT_H
#define AGENTJAIL_MOUNT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "jail.h"

/*
 * The jail's filesystem as a list of operations, compiled by the parent
 * from the config (all paths resolved and every message formatted there)
 * and executed by the child after clone: the child formats nothing and
 * allocates nothing.
 */
enum mount_op_kind {
	MOP_TMPFS,     /* mount a tmpfs at dst (created, with parents) */
	MOP_BIND,      /* bind src at dst, then set attr */
	MOP_PROC,      /* fresh procfs at dst */
	MOP_DEVPTS,    /* new devpts instance at dst */
	MOP_SYMLINK,   /* symlink dst -> src */
	MOP_FILE,      /* create dst holding the text src */
	MOP_MASK_FILE, /* bind src (the jail's /dev/null) over dst, if dst exists */
	MOP_MASK_DIR,  /* an empty read-only tmpfs over dst, if dst exists */
	MOP_READONLY,  /* dst, if it exists, made read-only (recursively) */
	MOP_SETATTR,   /* mount attributes of the mount at dst (not recursive) */
	MOP_PIVOT,     /* pivot_root into dst, detach the old root, root read-only */
};

struct mount_op {
	enum mount_op_kind kind;
	char *src;
	char *dst;  /* under the staging root, before pivot_root */
	char *what; /* for errors, in the jail's terms: "/usr -> /usr (bind,ro)" */
	char *data; /* filesystem options */
	unsigned long flags;
	uint64_t attr; /* MOUNT_ATTR_* set after mounting */
	bool recursive;
	bool src_is_dir;
	mode_t mode;
};

struct mount_plan {
	struct mount_op *ops;
	size_t n, cap;
};

int mount_plan_build(const struct jail_config *c, uint32_t run_uid, uint32_t run_gid,
		     struct mount_plan *ret, struct jail_error *e);
void mount_plan_free(struct mount_plan *p);

/* In the child. Returns 0, or -errno with *failed set to the failing op. */
int mount_plan_apply(const struct mount_plan *p, size_t *failed);
const char *mount_op_step(enum mount_op_kind k);

#endif
