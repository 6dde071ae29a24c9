/* SPDX-License-Identifier: Apache-2.0 */
/* Capabilities: everything dropped, nothing to regain. */
#include <cap-ng.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "caps.h"
#include "internal.h"

int
caps_keep_across_setuid(void)
{
	/* Only the bit that stops the kernel from clearing capabilities when
	 * the uids change; caps_drop_all() locks the final set. */
	if (prctl(PR_SET_SECUREBITS, SECBIT_NO_SETUID_FIXUP, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

int
caps_drop_all(void)
{
	/*
	 * Lock the securebits first (needs CAP_SETPCAP, about to go):
	 * NOROOT — uid 0 gains no capabilities on exec; NO_SETUID_FIXUP —
	 * changing uids changes no capability set; KEEP_CAPS off and locked;
	 * NO_CAP_AMBIENT_RAISE — the ambient set stays empty.
	 */
	unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
			     SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
			     SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
	if (prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) < 0)
		return -errno;

	/* Bounding set first (dropping it needs CAP_SETPCAP in the effective
	 * set), then ambient, inheritable, permitted, effective. */
	capng_clear(CAPNG_SELECT_ALL);
	if (capng_apply(CAPNG_SELECT_ALL) < 0)
		return -EPERM;

	/* Trust, but verify: fail closed if anything is left. */
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];
	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	for (int i = 0; i < 2; i++)
		if (data[i].effective || data[i].permitted || data[i].inheritable)
			return -EPERM;
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) > 0)
			return -EPERM;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) > 0)
			return -EPERM;
	}
	return 0;
}
