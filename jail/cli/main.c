/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agentjail: the nsjail-style command line. Parse, call jail_*, render the
 * result: nothing more.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"
#include "options.h"

#ifndef AJ_VERSION
#define AJ_VERSION "0.1.0"
#endif

static int verbosity;

static void __attribute__((format(printf, 1, 2))) say(const char *fmt, ...)
{
	va_list ap;

	fputs("agentjail: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
say_lines(const char *text)
{
	const char *p = text;

	while (p && *p) {
		const char *nl = strchrnul(p, '\n');
		if (nl > p)
			fprintf(stderr, "agentjail: %.*s\n", (int)(nl - p), p);
		p = *nl ? nl + 1 : nl;
	}
}

/* --- signals: forwarded to the running jail(s) ------------------------ */

static struct jail *volatile current;
static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
	int saved = errno;

	if (sig == SIGINT || sig == SIGTERM)
		stop_requested = 1;
	if (current)
		jail_signal(current, sig); /* pidfd_send_signal: async-signal-safe */
	errno = saved;
}

static void
install_signals(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
	struct sigaction sa = {.sa_handler = on_signal};

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* --- the report ------------------------------------------------------- */

static int
write_report(const char *path, const struct jail_result *r, const struct jail_error *setup,
	     uint32_t host_uid)
{
	json_t *o = json_object();
	const char *err = setup ? setup->msg : r->error.msg[0] ? r->error.msg : NULL;
	enum jail_termination t = setup ? JAIL_TERM_SETUP_FAILED : r->termination;

	json_object_set_new(o, "exit_status",
			    json_integer(setup ? JAIL_EXIT_SETUP : jail_result_exit_status(r)));
	json_object_set_new(o, "termination", json_string(jail_termination_name(t)));
	json_object_set_new(o, "exit_code",
			    !setup && t == JAIL_TERM_EXIT ? json_integer(r->exit_code)
							  : json_null());
	json_object_set_new(o, "signal",
			    !setup && r->signal ? json_integer(r->signal) : json_null());
	json_object_set_new(o, "timed_out", json_boolean(!setup && t == JAIL_TERM_TIMEOUT));
	json_object_set_new(o, "oom_killed", json_boolean(!setup && r->oom_killed));
	json_object_set_new(o, "wall_time_ms", json_real(setup ? 0 : (double)r->wall_us / 1000.0));
	json_object_set_new(o, "cpu_user_ms",
			    json_real(setup ? 0 : (double)r->cpu_user_us / 1000.0));
	json_object_set_new(o, "cpu_system_ms",
			    json_real(setup ? 0 : (double)r->cpu_system_us / 1000.0));
	json_object_set_new(o, "max_rss_kib", json_integer(setup ? 0 : (json_int_t)r->max_rss_kib));
	json_object_set_new(o, "memory_peak_bytes",
			    !setup && r->memory_peak ? json_integer((json_int_t)r->memory_peak)
						     : json_null());
	json_object_set_new(o, "pids_peak",
			    !setup && r->pids_peak ? json_integer((json_int_t)r->pids_peak)
						   : json_null());
	json_object_set_new(o, "cpu_usage_ms",
			    !setup && r->cgroup_measured
				    ? json_real((double)r->cpu_usage_us / 1000.0)
				    : json_null());
	json_object_set_new(o, "pids_max_hit", json_boolean(!setup && r->pids_max_hit));
	json_object_set_new(o, "host_uid", host_uid ? json_integer(host_uid) : json_null());
	json_object_set_new(o, "error", err ? json_string(err) : json_null());

	int rc = json_dump_file(o, path, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(10));
	json_decref(o);
	if (rc < 0) {
		say("report %s: could not write: %s", path, strerror(errno ? errno : EIO));
		return -1;
	}
	return 0;
}

static void
summary(const struct jail_result *r)
{
	char cg[160] = "";
	int n = 0;

	if (r->cgroup_measured)
		n = snprintf(cg, sizeof(cg), " cgroup_cpu=%.1fms",
			     (double)r->cpu_usage_us / 1000.0);
	if (r->memory_peak && n >= 0 && (size_t)n < sizeof(cg))
		n += snprintf(cg + n, sizeof(cg) - (size_t)n, " memory_peak=%lluKiB",
			      (unsigned long long)(r->memory_peak / 1024));
	if (r->pids_peak && n >= 0 && (size_t)n < sizeof(cg))
		n += snprintf(cg + n, sizeof(cg) - (size_t)n, " pids_peak=%llu",
			      (unsigned long long)r->pids_peak);
	if (n >= 0 && (size_t)n < sizeof(cg))
		snprintf(cg + n, sizeof(cg) - (size_t)n, "%s%s", r->oom_killed ? " oom_kill" : "",
			 r->pids_max_hit ? " pids_max_hit" : "");
	say("summary: termination=%s exit_status=%d signal=%d wall=%.1fms cpu=%.1fms "
	    "max_rss=%lluKiB%s",
	    jail_termination_name(r->termination), jail_result_exit_status(r), r->signal,
	    (double)r->wall_us / 1000.0, (double)(r->cpu_user_us + r->cpu_system_us) / 1000.0,
	    (unsigned long long)r->max_rss_kib, cg);
}

/* --- modes ------------------------------------------------------------ */

/* One jail, on this terminal. Returns the exit status. */
static int
run_once(struct cli_opts *o, const struct jail_filter *f)
{
	struct jail_error e = {0};
	struct jail_result r;
	struct jail *j = NULL;

	if (jail_start(&o->config, f, NULL, &j, &e) < 0) {
		say("%s", e.msg);
		if (o->report)
			write_report(o->report, NULL, &e, 0);
		return JAIL_EXIT_SETUP;
	}
	current = j;
	/* Notices describe the host and the config, not the run: once. */
	static bool noticed;
	if (verbosity >= 0 && !noticed)
		say_lines(jail_notices(j));
	noticed = true;
	if (verbosity > 0)
		say("jail pid %d, host uid %u", (int)jail_pid(j), jail_host_uid(j));
	uint32_t host_uid = jail_host_uid(j);
	int rc = jail_wait(j, &r, &e);
	current = NULL;
	jail_free(j);
	if (rc < 0) {
		say("%s", e.msg);
		return JAIL_EXIT_SETUP;
	}
	if (r.termination == JAIL_TERM_EXEC_FAILED || r.termination == JAIL_TERM_SETUP_FAILED)
		say("%s", r.error.msg);
	else if (r.termination == JAIL_TERM_TIMEOUT && verbosity >= 0)
		say("time limit of %llu s reached; the jail was killed",
		    (unsigned long long)(o->config.time_limit_ms / 1000));
	if (verbosity > 0)
		summary(&r);
	if (o->report)
		write_report(o->report, &r, NULL, host_uid);
	return jail_result_exit_status(&r);
}

static int
run_rerun(struct cli_opts *o, const struct jail_filter *f)
{
	int rc = 0;

	while (!stop_requested) {
		rc = run_once(o, f);
		if (rc == JAIL_EXIT_SETUP)
			break;
	}
	return rc;
}

static int
listen_socket(const char *host, unsigned port)
{
	struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV,
				 .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;
	char portstr[16];
	int fd = -1, r;

	snprintf(portstr, sizeof(portstr), "%u", port);
	r = getaddrinfo(host, portstr, &hints, &ai);
	if (r != 0) {
		say("--bindhost '%s': %s", host, gai_strerror(r));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0) {
		say("listen on [%s]:%u: %s", host, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

struct conn {
	struct jail *j;
	char peer[64];
};

/* inetd-style: every TCP connection gets a jail of its own, with the
 * connection as its stdin, stdout and stderr. */
static int
run_listen(struct cli_opts *o, const struct jail_filter *f)
{
	int lfd = listen_socket(o->bindhost ? o->bindhost : "::", o->port);
	size_t cap = o->max_conns ? o->max_conns : 1024;
	struct conn *conns = calloc(cap, sizeof(*conns));
	size_t n = 0;

	if (lfd < 0 || !conns) {
		free(conns);
		return JAIL_EXIT_SETUP;
	}
	if (verbosity >= 0)
		say("listening on [%s]:%u", o->bindhost ? o->bindhost : "::", o->port);
	while (!stop_requested) {
		struct pollfd pfd[1 + 1024];
		pfd[0] = (struct pollfd){.fd = lfd, .events = n < cap ? POLLIN : 0};
		uint64_t now = now_us(), next = 0;
		for (size_t i = 0; i < n; i++) {
			pfd[1 + i] =
				(struct pollfd){.fd = jail_pidfd(conns[i].j), .events = POLLIN};
			uint64_t d = jail_deadline_us(conns[i].j);
			if (d && (!next || d < next))
				next = d;
		}
		int timeout = next ? (next > now ? (int)((next - now + 999) / 1000) : 0) : -1;
		if (poll(pfd, 1 + n, timeout) < 0 && errno != EINTR)
			break;
		now = now_us();
		for (size_t i = 0; i < n;) {
			struct jail_result r;
			struct jail_error e = {0};
			uint64_t d = jail_deadline_us(conns[i].j);
			if (d && now >= d)
				jail_kill(conns[i].j);
			if (jail_reap(conns[i].j, &r, &e) == -EAGAIN) {
				i++;
				continue;
			}
			if (verbosity >= 0)
				say("connection from %s ended: %s, exit status %d", conns[i].peer,
				    jail_termination_name(d && now >= d ? JAIL_TERM_TIMEOUT
									: r.termination),
				    jail_result_exit_status(&r));
			jail_free(conns[i].j);
			conns[i] = conns[--n];
		}
		if (!(pfd[0].revents & POLLIN))
			continue;
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int cfd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
		if (cfd < 0)
			continue;
		struct conn *c = &conns[n];
		char host[INET6_ADDRSTRLEN] = "?", serv[8] = "?";
		getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), serv, sizeof(serv),
			    NI_NUMERICHOST | NI_NUMERICSERV);
		snprintf(c->peer, sizeof(c->peer), "[%s]:%s", host, serv);
		struct jail_stdio io = {cfd, cfd, cfd};
		struct jail_error e = {0};
		if (jail_start(&o->config, f, &io, &c->j, &e) < 0) {
			say("connection from %s: %s", c->peer, e.msg);
			close(cfd);
			continue;
		}
		close(cfd);
		if (verbosity >= 0)
			say("connection from %s: jail pid %d", c->peer, (int)jail_pid(c->j));
		n++;
	}
	for (size_t i = 0; i < n; i++)
		jail_free(conns[i].j);
	free(conns);
	close(lfd);
	return 0;
}

static int
cmd_check(int argc, char **argv)
{
	struct jail_config c;
	struct jail_error e = {0};

	if (argc != 3) {
		fprintf(stderr, "Usage: agentjail check NAME|FILE\n");
		return 2;
	}
	jail_config_init(&c);
	int r = jail_profile_load(&c, argv[2], &e);
	if (r >= 0) {
		struct jail_filter *f = NULL;
		r = jail_filter_build(&c.seccomp, &f, &e);
		jail_filter_free(f);
	}
	jail_config_free(&c);
	if (r < 0) {
		say("%s", e.msg);
		return 1;
	}
	printf("configuration OK\n");
	return 0;
}

int
main(int argc, char **argv)
{
	struct cli_opts o;
	struct jail_error e = {0};
	struct jail_filter *f = NULL;
	int rc;

	if (argc >= 2 && strcmp(argv[1], "check") == 0)
		return cmd_check(argc, argv);
	if (argc == 2 && strcmp(argv[1], "doctor") == 0)
		return cli_doctor();

	if (cli_parse(argc, argv, &o, &e) < 0) {
		say("%s", e.msg);
		cli_opts_free(&o);
		return JAIL_EXIT_SETUP;
	}
	verbosity = o.verbosity;
	if (o.help) {
		cli_usage(stdout);
		cli_opts_free(&o);
		return 0;
	}
	if (o.version) {
		printf("agentjail %s\n", AJ_VERSION);
		cli_opts_free(&o);
		return 0;
	}
	if (verbosity >= 0)
		say_lines(o.warnings);
	if (jail_filter_build(&o.config.seccomp, &f, &e) < 0) {
		say("%s", e.msg);
		cli_opts_free(&o);
		return JAIL_EXIT_SETUP;
	}
	if (o.config.seccomp.disabled_for_tests && verbosity >= 0)
		say("--testonly_no_seccomp: running WITHOUT a seccomp filter");
	install_signals();

	switch (o.mode) {
	case CLI_MODE_RERUN: rc = run_rerun(&o, f); break;
	case CLI_MODE_LISTEN: rc = run_listen(&o, f); break;
	case CLI_MODE_EXECVE:
		rc = jail_exec(&o.config, f, verbosity >= 0 ? STDERR_FILENO : -1, &e);
		/* jail_exec returns only on failure */
		say("%s", e.msg);
		rc = JAIL_EXIT_SETUP;
		break;
	case CLI_MODE_ONCE:
	default: rc = run_once(&o, f); break;
	}
	jail_filter_free(f);
	cli_opts_free(&o);
	return rc;
}
