/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agentjaild's configuration: /etc/agentjail/agentjaild.json (format 1),
 * read strictly with jail/json.h's tables; see agentjaild.conf(5).
 *
 * The order of use is: ajd_config_init() (the built-in defaults), then
 * ajd_config_load_file() (what the file names replaces the default), then
 * the command line's overrides (--listen through ajd_parse_listen()), then
 * ajd_config_validate(), which checks the whole (each value again, and how
 * values go together). Loading checks each value as it reads it and names
 * the file and the JSON path in its errors; it does not run the cross-field
 * checks, since a flag given later (--insecure-no-auth) may settle them.
 * `agentjaild -n` runs all of it and prints `configuration OK`.
 *
 * The struct is plain data with fixed-size strings: it can be copied by
 * assignment (a reload builds a new one and swaps it in), owns no memory,
 * and a load that fails leaves it as it was.
 */
#ifndef AGENTJAIL_SUPERVISOR_CONFIG_H
#define AGENTJAIL_SUPERVISOR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jail.h"

#ifndef AJ_SYSCONFDIR
#define AJ_SYSCONFDIR "/etc"
#endif

#define AJD_CONFIG_FORMAT   1
#define AJD_CONFIG_FILE	    AJ_SYSCONFDIR "/agentjail/agentjaild.json"
#define AJD_CONFIG_MAX_SIZE (1u << 20) /* bytes of a configuration file */

#define AJD_MAX_LISTEN	 8
#define AJD_SUN_PATH_MAX 108 /* sizeof(sockaddr_un.sun_path), the NUL included */
#define AJD_HOST_MAX	 64
#define AJD_ID_NAME_MAX	 32   /* a user or group name */
#define AJD_CGROUP_MAX	 1024 /* as jail_cgroup_setup() accepts */

#define AJD_DEFAULT_LISTEN	    "unix:/run/agentjail/api.sock"
#define AJD_DEFAULT_SOCKET_MODE	    0660u
#define AJD_DEFAULT_HTTP_USER	    "agentjail"
#define AJD_DEFAULT_PROFILES_DIR    AJ_SYSCONFDIR "/agentjail/profiles"
#define AJD_DEFAULT_PROFILE	    "default"
#define AJD_DEFAULT_RUNTIME_DIR	    JAIL_DEFAULT_RUNTIME_DIR
#define AJD_DEFAULT_MAX_BODY_BYTES  (32ull << 20)
#define AJD_DEFAULT_MAX_JSON_BYTES  (1ull << 20)
#define AJD_DEFAULT_MAX_HEADER	    16384u
#define AJD_DEFAULT_MAX_CONNECTIONS 1024u
#define AJD_DEFAULT_MAX_PER_CLIENT  64u
#define AJD_DEFAULT_CONN_TIMEOUT_S  60u
#define AJD_DEFAULT_EXECS_SESSION   16u
#define AJD_DEFAULT_EXECS_TOTAL	    256u
#define AJD_DEFAULT_MAX_SESSIONS    1000u
#define AJD_DEFAULT_MAX_OUTPUT	    (4ull << 20)
#define AJD_DEFAULT_EXEC_TIMEOUT_MS 60000u
#define AJD_DEFAULT_IDLE_TIMEOUT_S  900u
#define AJD_DEFAULT_MAX_LIFETIME_S  28800u

enum {
	AJD_LISTEN_UNIX = 1,
	AJD_LISTEN_TCP = 2,
};

/* One listen address: a unix socket at path, or TCP on a numeric address.
 * host is written without brackets ("127.0.0.1", "::1"); an address with a
 * ':' in it is IPv6. */
struct ajd_listen {
	int kind; /* AJD_LISTEN_UNIX or AJD_LISTEN_TCP */
	char path[AJD_SUN_PATH_MAX];
	char host[AJD_HOST_MAX];
	unsigned port;
};

enum ajd_log_format {
	AJD_LOG_TEXT, /* key=value */
	AJD_LOG_JSON,
};

/* The bounds every request and session is held to ("limits"). */
struct ajd_limits {
	uint64_t max_body_bytes;   /* a PUT body (file content) */
	uint64_t max_json_bytes;   /* a JSON request body */
	uint64_t max_header_bytes; /* a request's headers */
	uint32_t max_connections;
	uint32_t max_connections_per_client;
	uint32_t connection_timeout_s; /* idle connection */
	uint32_t max_execs_per_session;
	uint32_t max_execs_total;
	uint32_t max_sessions;	   /* live jails */
	uint64_t max_output_bytes; /* default captured output per stream of an exec */
	uint32_t exec_timeout_ms;  /* default exec timeout */
	uint32_t idle_timeout_s;   /* default session idle timeout */
	uint32_t max_lifetime_s;   /* default session max lifetime */
};

/* A warm pool's settings for one profile, overriding the profile's. */
#define AJD_MAX_POOLS 32
struct ajd_pool {
	char profile[JAIL_MAX_NAME + 1];
	uint32_t size, max;
	bool has_size, has_max;
};

/* An empty string is "not set" where the comment says what that means. */
struct ajd_config {
	struct ajd_listen listen[AJD_MAX_LISTEN];
	size_t n_listen;
	unsigned socket_mode;			 /* permission bits of unix sockets */
	char socket_group[AJD_ID_NAME_MAX + 1];	 /* name or gid; "": root's group */
	bool insecure_no_auth;			 /* TCP without authentication */
	char http_user[AJD_ID_NAME_MAX + 1];	 /* name or uid, as written (not resolved) */
	char profiles_dir[JAIL_MAX_PATH + 1];	 /* absolute */
	char default_profile[JAIL_MAX_NAME + 1]; /* a profile name */
	char runtime_dir[JAIL_MAX_PATH + 1];	 /* absolute */
	char cgroup_parent[AJD_CGROUP_MAX + 1];	 /* below the cgroup2 mount; "": automatic */
	char worker[JAIL_MAX_PATH + 1];		 /* agentjail-worker; "": automatic */
	enum ajd_log_format log_format;
	struct ajd_limits limits;
	struct ajd_pool pools[AJD_MAX_POOLS]; /* "pools": {"NAME": {"size", "max"}} */
	size_t n_pools;
};

/* The built-in defaults (those of agentjaild.conf(5)). */
void ajd_config_init(struct ajd_config *c);
/* Nothing to release today; kept so that callers stay right if the struct
 * ever owns memory. NULL allowed. */
void ajd_config_free(struct ajd_config *c);

/*
 * Read a configuration over c: every key present replaces that setting
 * ("listen" the whole list), the others are left as they were. On failure c
 * is unchanged and e says, on one line, the file (origin), the JSON path and
 * what was expected. A file that does not exist is -ENOENT ("PATH: No such
 * file or directory"): the daemon treats that as "use the defaults" only for
 * the default path, never for a file named with -c.
 */
int ajd_config_load_file(struct ajd_config *c, const char *path, struct jail_error *e);
int ajd_config_load_buffer(struct ajd_config *c, const char *json, size_t len, const char *origin,
			   struct jail_error *e);

/* "unix:/abs/path", "HOST:PORT" (numeric IPv4) or "[V6]:PORT"; used for the
 * file's "listen" and for --listen. The error says what was expected,
 * without a prefix (the caller adds "--listen" or the JSON path). ret is
 * written only on success. */
int ajd_parse_listen(const char *s, struct ajd_listen *ret, struct jail_error *e);
/* The address as ajd_parse_listen() reads it; returns buf. */
const char *ajd_listen_format(const struct ajd_listen *l, char *buf, size_t size);

/* The whole configuration: every value within its bounds again (flags may
 * have set them), then the rules between values: TCP only with
 * insecure_no_auth, no address twice, per-session and per-client bounds
 * within the totals. */
int ajd_config_validate(const struct ajd_config *c, struct jail_error *e);

#endif
