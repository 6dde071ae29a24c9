/* SPDX-License-Identifier: Apache-2.0 */
/* The host uid allocator: exclusive leases, released with their holder,
 * including when the holder dies; /etc/subuid overlaps refused. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "tap.h"
#include "uidalloc.h"

int
main(void)
{
	char dir[] = "/tmp/ajuid.XXXXXX";
	struct jail_error e = {0};
	struct uid_lease a, b, c;

	if (!mkdtemp(dir))
		return 1;
	tap_ok(uidalloc_acquire(dir, 5000000, 5000001, JAIL_ID_AUTO, &a, &e) == 0, "first lease");
	tap_ok(uidalloc_acquire(dir, 5000000, 5000001, JAIL_ID_AUTO, &b, &e) == 0 && b.id != a.id,
	       "second lease gets the other id");
	tap_ok(uidalloc_acquire(dir, 5000000, 5000001, JAIL_ID_AUTO, &c, &e) == -EAGAIN &&
		       strstr(e.msg, "no free host uid in 5000000-5000001"),
	       "a full range is refused with a clear message");
	tap_ok(uidalloc_acquire(dir, 1, 9, a.id, &c, &e) < 0 &&
		       strstr(e.msg, "is in use by another jail"),
	       "an explicit id in use is refused");
	uint32_t freed = a.id;
	uidalloc_release(&a);
	tap_ok(uidalloc_acquire(dir, 5000000, 5000001, JAIL_ID_AUTO, &c, &e) == 0 && c.id == freed,
	       "a released id can be taken again");
	uidalloc_release(&b);
	uidalloc_release(&c);

	/* A lease dies with the last process holding it: fork a child that
	 * takes one and is killed. */
	int pfd[2];
	if (pipe(pfd) < 0)
		return 1;
	pid_t p = fork();
	if (p == 0) {
		struct uid_lease l;
		char ok = uidalloc_acquire(dir, 5000010, 5000010, JAIL_ID_AUTO, &l, NULL) == 0;
		(void)!write(pfd[1], &ok, 1);
		pause();
		_exit(0);
	}
	char ok = 0;
	(void)!read(pfd[0], &ok, 1);
	tap_ok(ok, "a child holds id 5000010");
	tap_ok(uidalloc_acquire(dir, 5000010, 5000010, JAIL_ID_AUTO, &c, &e) < 0,
	       "... which nobody else can take");
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
	tap_ok(uidalloc_acquire(dir, 5000010, 5000010, JAIL_ID_AUTO, &c, &e) == 0,
	       "... and which is free once the child is killed (no cleanup needed)");
	uidalloc_release(&c);

	/* subuid/subgid overlaps. */
	char su[64], sg[64];
	snprintf(su, sizeof(su), "%s/subuid", dir);
	snprintf(sg, sizeof(sg), "%s/subgid", dir);
	FILE *f = fopen(su, "w");
	fprintf(f, "# comment\nalice:100000:65536\nbob:1500000:65536\n");
	fclose(f);
	f = fopen(sg, "w");
	fprintf(f, "alice:100000:65536\n");
	fclose(f);
	tap_ok(uidalloc_check_subids(su, sg, 1000000, 1999999, &e) < 0 &&
		       strstr(e.msg, "overlaps") && strstr(e.msg, "line 3") &&
		       strstr(e.msg, "bob:1500000:65536"),
	       "a range overlapping /etc/subuid is refused, naming the line");
	tap_ok(uidalloc_check_subids(su, sg, 2000000, 2999999, &e) == 0,
	       "a range clear of them is fine");
	tap_ok(uidalloc_check_subids(su, sg, 165535, 165535, &e) < 0,
	       "the last id of a range counts");
	tap_ok(uidalloc_check_subids(su, sg, 165536, 165536, &e) == 0, "one past it does not");

	unlink(su);
	unlink(sg);
	char ledger[64];
	snprintf(ledger, sizeof(ledger), "%s/uids", dir);
	unlink(ledger);
	rmdir(dir);
	return tap_done();
}
