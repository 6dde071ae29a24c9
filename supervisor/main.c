/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agentjaild: the supervisor. Reads its configuration and profiles, opens
 * the listeners (as root), then splits: the HTTP process (unprivileged,
 * parses the network's input) and the monitor (root, makes and ends
 * jails through the closed set of requests of privsep.h).
 *
 *   agentjaild [-c FILE] [-n] [--listen ADDR]... [--profiles DIR]
 *              [--insecure-no-auth]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "http.h"
#include "internal.h"
#include "log.h"
#include "monitor.h"
#include "uidalloc.h"

#ifndef AJ_LIBEXECDIR
#define AJ_LIBEXECDIR "/usr/local/libexec/agentjail"
#endif

static void
usage(FILE *out)
{
	fprintf(out,
		"Usage: agentjaild [-c FILE] [-n] [--listen unix:PATH|HOST:PORT]... "
		"[--profiles DIR] [--insecure-no-auth]\n"
		"  -c, --config FILE     configuration (default %s)\n"
		"  -n, --check           check the configuration and profiles, print "
		"'configuration OK'\n"
		"  -l, --listen ADDR     listen on ADDR (replaces the configured listeners; "
		"repeatable)\n"
		"  -p, --profiles DIR    profiles directory\n"
		"      --insecure-no-auth   allow TCP listeners without authentication\n"
		"  -h, --help, --version\n",
		AJD_CONFIG_FILE);
}

static int
die(const char *what, const char *msg)
{
	fprintf(stderr, "agentjaild: %s%s%s\n", what, msg ? ": " : "", msg ? msg : "");
	return 1;
}

/* A unix socket at path: stale socket files are replaced, other files
 * are not. */
static int
listen_unix(const struct ajd_config *c, const struct ajd_listen *l, struct jail_error *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	char dir[sizeof(l->path)];

	snprintf(dir, sizeof(dir), "%s", l->path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return jerr(e, errno, "listen unix:%s: create %s", l->path, dir);
	}
	if (lstat(l->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return jerr_plain(e, EEXIST, "listen unix:%s: exists and is not a socket",
					  l->path);
		unlink(l->path);
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", l->path);
	mode_t old = umask(0177);
	int r = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, 512) < 0) {
		r = jerr(e, errno, "listen unix:%s", l->path);
		if (fd >= 0)
			close(fd);
		return r;
	}
	gid_t gid = (gid_t)-1;
	if (c->socket_group[0]) {
		char *end;
		unsigned long v = strtoul(c->socket_group, &end, 10);
		struct group *g = *end ? getgrnam(c->socket_group) : NULL;
		if (!*end)
			gid = (gid_t)v;
		else if (g)
			gid = g->gr_gid;
		else {
			close(fd);
			return jerr_plain(e, ENOENT, "socket_group '%s': no such group",
					  c->socket_group);
		}
	}
	if (chown(l->path, (uid_t)-1, gid) < 0 || chmod(l->path, c->socket_mode) < 0) {
		r = jerr(e, errno, "listen unix:%s: set owner and mode", l->path);
		close(fd);
		return r;
	}
	return fd;
}

static int
listen_tcp(const struct ajd_listen *l, struct jail_error *e)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	bool v6 = strchr(l->host, ':') != NULL;

	if (v6) {
		struct sockaddr_in6 *s6 = (void *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)l->port);
		inet_pton(AF_INET6, l->host, &s6->sin6_addr);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (void *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)l->port);
		inet_pton(AF_INET, l->host, &s4->sin_addr);
		len = sizeof(*s4);
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 512) < 0) {
		int r = jerr(e, errno, "listen %s%s%s:%u", v6 ? "[" : "", l->host, v6 ? "]" : "",
			     l->port);
		if (fd >= 0)
			close(fd);
		return r;
	}
	return fd;
}

/* The worker program: configured, else next to this binary, else the
 * installed one. */
static int
open_worker(const struct ajd_config *c, struct jail_error *e)
{
	char self[4096], path[4200];
	ssize_t n;

	if (c->worker[0])
		snprintf(path, sizeof(path), "%s", c->worker);
	else if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		*slash = '\0';
		snprintf(path, sizeof(path), "%s/agentjail-worker", self);
		if (access(path, X_OK) < 0)
			snprintf(path, sizeof(path), "%s/agentjail-worker", AJ_LIBEXECDIR);
	} else {
		snprintf(path, sizeof(path), "%s/agentjail-worker", AJ_LIBEXECDIR);
	}
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return jerr(e, errno, "worker program %s", path);
	return fd;
}

/* The HTTP process's uid: the configured user if it exists; otherwise a
 * host uid leased from the jails' range, which nothing else uses, held
 * for the daemon's lifetime. Never root's. */
static int
http_identity(const struct ajd_config *c, const struct mprofiles *ps, uid_t *uid, gid_t *gid,
	      struct uid_lease *lease, struct jail_error *e)
{
	char *end;
	unsigned long v = strtoul(c->http_user, &end, 10);
	struct passwd *pw = c->http_user[0] && *end ? getpwnam(c->http_user) : NULL;

	if (c->http_user[0] && !*end) {
		*uid = (uid_t)v;
		*gid = (gid_t)v;
	} else if (pw) {
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
	} else {
		const struct jail_config *d = ps->n ? &ps->v[0].config : NULL;
		int r = uidalloc_acquire(
			c->runtime_dir, d ? d->host_id_min : JAIL_DEFAULT_HOST_ID_MIN,
			d ? d->host_id_max : JAIL_DEFAULT_HOST_ID_MAX, JAIL_ID_AUTO, lease, e);
		if (r < 0)
			return r;
		*uid = lease->id;
		*gid = lease->id;
	}
	if (*uid == 0 || *gid == 0)
		return jerr_plain(e, EINVAL, "http_user '%s': refusing to serve HTTP as root",
				  c->http_user);
	return 0;
}

/* The HTTP process's filter: the default policy without process creation
 * or exec: code that parses untrusted input cannot spawn. */
static int
http_filter(struct jail_filter **ret, struct jail_error *e)
{
	struct jail_seccomp s = {.policy = JAIL_SECCOMP_POLICY_DEFAULT,
				 .action = JAIL_SECCOMP_ACTION_KILL};
	static const char *const deny[] = {"execve", "execveat", "fork",   "vfork",
					   "clone",  "clone3",	 "ptrace", "process_vm_writev"};
	int r = 0;

	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(deny); i++)
		if (jail_seccomp_policy_allows(s.policy, deny[i]) == 1)
			r = jail_config_add_syscall(&s, false, deny[i], e);
	if (r >= 0)
		r = jail_filter_build(&s, ret, e);
	for (size_t i = 0; i < s.n_deny; i++)
		free(s.deny[i]);
	free(s.deny);
	return r;
}

/* The command line's settings, kept for SIGHUP's rereading. */
static struct {
	const char *config_file, *profiles_dir;
	struct ajd_listen listen[AJD_MAX_LISTEN];
	size_t n_listen;
	bool insecure;
} cli;

/* The file (the defaults if the default file does not exist), then the
 * command line, validated. */
static int
load_config(struct ajd_config *c, struct jail_error *e)
{
	ajd_config_init(c);
	int r = ajd_config_load_file(c, cli.config_file ? cli.config_file : AJD_CONFIG_FILE, e);
	if (r < 0 && !(r == -ENOENT && !cli.config_file))
		return r;
	if (cli.n_listen) {
		memcpy(c->listen, cli.listen, sizeof(cli.listen));
		c->n_listen = cli.n_listen;
	}
	if (cli.profiles_dir)
		snprintf(c->profiles_dir, sizeof(c->profiles_dir), "%s", cli.profiles_dir);
	if (cli.insecure)
		c->insecure_no_auth = true;
	return ajd_config_validate(c, e);
}

static bool
loopback(const struct ajd_listen *l)
{
	return strncmp(l->host, "127.", 4) == 0 || strcmp(l->host, "::1") == 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check", no_argument, NULL, 'n'},
		{"listen", required_argument, NULL, 'l'},
		{"profiles", required_argument, NULL, 'p'},
		{"insecure-no-auth", no_argument, NULL, 'I'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	static struct ajd_config cfg;
	struct jail_error e = {0};
	bool check = false;
	int opt;

	ajd_config_init(&cfg);
	while ((opt = getopt_long(argc, argv, "c:nl:p:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': cli.config_file = optarg; break;
		case 'n': check = true; break;
		case 'l':
			if (cli.n_listen == AJD_MAX_LISTEN)
				return die("--listen", "at most 8 listeners");
			if (ajd_parse_listen(optarg, &cli.listen[cli.n_listen++], &e) < 0)
				return die(e.msg, NULL);
			break;
		case 'p': cli.profiles_dir = optarg; break;
		case 'I': cli.insecure = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("agentjaild 0.1.0\n"); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc)
		return die("unexpected argument", argv[optind]);
	if (load_config(&cfg, &e) < 0)
		return die(e.msg, NULL);
	/* The keys and the certificate: read (as root) and built, so that a
	 * bad file stops the start, not the first request. */
	char *material = auth_material_read(&cfg, &e);
	if (!material || auth_material_check(material, &e) < 0)
		return die(e.msg, NULL);
	struct mprofiles ps;
	if (mprofiles_load(&ps, cfg.profiles_dir, &e) < 0)
		return die(e.msg, NULL);
	if (!mprofiles_find(&ps, cfg.default_profile))
		return die("default_profile", "no such profile");
	if (check) {
		printf("configuration OK\n");
		mprofiles_free(&ps);
		free(material);
		return 0;
	}
	if (geteuid() != 0)
		return die("agentjaild must run as root", NULL);

	log_init(cfg.log_format == AJD_LOG_JSON, "agentjaild");
	if (cfg.cgroup_parent[0] && jail_cgroup_setup(NULL, cfg.cgroup_parent, &e) < 0)
		return die(e.msg, NULL);
	if (mkdir(cfg.runtime_dir, 0755) < 0 && errno != EEXIST)
		return die("runtime_dir", strerror(errno));
	for (size_t i = 0; i < cfg.n_listen; i++) {
		char a[128];
		ajd_listen_format(&cfg.listen[i], a, sizeof(a));
		if (cfg.listen[i].kind != AJD_LISTEN_TCP)
			continue;
		if (cfg.insecure_no_auth)
			log_event(LOG_WARN, "insecure_no_auth", "listen", a, "warning",
				  cfg.auth.n_keys ? "TCP requests without a token are served, "
						    "unauthenticated"
						  : "TCP without authentication: anyone who can "
						    "connect can run code",
				  NULL);
		if (cfg.auth.n_keys && !cfg.tls.cert[0] && !loopback(&cfg.listen[i]))
			log_event(LOG_WARN, "tls", "listen", a, "warning",
				  "bearer tokens on TCP without TLS travel in clear: configure tls",
				  NULL);
	}
	int fds[AJD_MAX_LISTEN];
	for (size_t i = 0; i < cfg.n_listen; i++) {
		fds[i] = cfg.listen[i].kind == AJD_LISTEN_UNIX
				 ? listen_unix(&cfg, &cfg.listen[i], &e)
				 : listen_tcp(&cfg.listen[i], &e);
		if (fds[i] < 0)
			return die(e.msg, NULL);
	}
	int worker = open_worker(&cfg, &e);
	if (worker < 0)
		return die(e.msg, NULL);
	uid_t uid;
	gid_t gid;
	struct uid_lease lease = UID_LEASE_NONE;
	if (http_identity(&cfg, &ps, &uid, &gid, &lease, &e) < 0)
		return die(e.msg, NULL);
	struct jail_filter *filter = NULL;
	if (http_filter(&filter, &e) < 0)
		return die(e.msg, NULL);
	/* Before the split: the cgroup discovery (and its one notice) happen
	 * once, in the process that makes jails. */
	struct jail_cgroup_info ci;
	jail_cgroup_info(&ci);
	char names[64];
	log_event(LOG_INFO, "start", "cgroup", ci.backend, "cgroup_mount", ci.mount,
		  "cgroup_controllers", jail_cgroup_names(ci.enforceable, names, sizeof(names)),
		  NULL);

	if (strcmp(ci.backend, "v2") == 0)
		snprintf(http_cgroup_base, sizeof(http_cgroup_base), "%s", ci.base);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return die("socketpair", strerror(errno));
	int one = 1 << 20;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &one, sizeof(one));
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUFFORCE, &one, sizeof(one));
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return die("fork", strerror(errno));
	if (pid == 0) {
		close(sv[0]);
		close(worker);
		mprofiles_free(&ps);
		exit(http_main(&cfg, fds, cfg.n_listen, sv[1], uid, gid, filter, material));
	}
	close(sv[1]);
	for (size_t i = 0; i < cfg.n_listen; i++)
		close(fds[i]);
	jail_filter_free(filter);
	free(material);
	int r = monitor_run(&cfg, &ps, sv[0], pid, worker, cfg.profiles_dir, load_config);
	mprofiles_free(&ps);
	uidalloc_release(&lease);
	log_event(LOG_INFO, "exit", "status", r ? "1" : "0", NULL);
	return r;
}
