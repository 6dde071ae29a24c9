/* SPDX-License-Identifier: Apache-2.0 */
#ifndef AGENTJAIL_CAPS_H
#define AGENTJAIL_CAPS_H

/* Keep capabilities across the uid change at the start of the child, so
 * that it can build the jail as its final uid (files it creates are then
 * owned by that uid). */
int caps_keep_across_setuid(void);
/* Empty every capability set (bounding, ambient, inheritable, permitted,
 * effective), lock the securebits so that nothing can bring them back, and
 * verify. Returns 0 or -errno; the caller aborts the jail on failure. */
int caps_drop_all(void);

#endif
