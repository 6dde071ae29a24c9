/* SPDX-License-Identifier: Apache-2.0 */
/* The shipped profiles, built into the binary so that agentjail runs on its
 * default profile before anything is installed. Each is NUL-terminated. */
	.section .rodata
	.balign 8
#define PROFILE(sym, file)			\
	.globl sym;				\
	.hidden sym;				\
	.type sym, @object;			\
sym:						\
	.incbin file;				\
	.byte 0;				\
	.size sym, . - sym

PROFILE(aj_profile_default, "profiles/default.json")
PROFILE(aj_profile_minimal, "profiles/minimal.json")
PROFILE(aj_profile_python, "profiles/python.json")

	.section .note.GNU-stack,"",@progbits
