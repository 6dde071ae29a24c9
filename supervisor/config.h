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

/* "auth": who may use the API (agentjaild.conf(5), AUTHENTICATION). */
#define AJD_MAX_KEYS		  8
#define AJD_KID_MAX		  64
#define AJD_CLAIM_STR_MAX	  255
#define AJD_MAX_UNIX_IDS	  16
#define AJD_DEFAULT_LEEWAY_S	  60u
#define AJD_DEFAULT_AUTH_FAILURES 30u /* per client address and minute */
struct ajd_key {
	char kid[AJD_KID_MAX + 1];
	char file[JAIL_MAX_PATH + 1]; /* a PEM public key or certificate */
	char alg[8];		      /* "": the key's default */
};
struct ajd_auth {
	struct ajd_key keys[AJD_MAX_KEYS];
	size_t n_keys;
	char issuer[AJD_CLAIM_STR_MAX + 1];   /* "": not checked */
	char audience[AJD_CLAIM_STR_MAX + 1]; /* "": not checked */
	uint32_t leeway_s;
	uint32_t max_token_lifetime_s;	   /* 0: no maximum */
	char admin_claim[AJD_KID_MAX + 1]; /* "": no admin by token */
	char admin_value[AJD_CLAIM_STR_MAX + 1];
	/* Unix sockets: SO_PEERCRED. No uids and no gids: anyone who can
	 * open the socket (its mode and group decide). */
	uint32_t unix_uids[AJD_MAX_UNIX_IDS], unix_gids[AJD_MAX_UNIX_IDS];
	size_t n_unix_uids, n_unix_gids;
	uint32_t unix_admin_uids[AJD_MAX_UNIX_IDS]; /* default: root */
	size_t n_unix_admin_uids;
	bool metrics_open_on_unix;
	uint32_t max_failures_per_minute; /* per client address */
};

/* "tenants": per-tenant policy; the tenant "*" applies to the others. */
#define AJD_MAX_TENANTS		64
#define AJD_TENANT_MAX		127
#define AJD_MAX_TENANT_PROFILES 16
struct ajd_tenant {
	char name[AJD_TENANT_MAX + 1];
	char profiles[AJD_MAX_TENANT_PROFILES][JAIL_MAX_NAME + 1];
	size_t n_profiles;
	bool any_profile;	/* "profiles" absent */
	bool allow_host_access; /* profiles with host networking or writable host paths */
	uint32_t max_sessions;	/* live sessions; 0: only the host's limit */
	uint32_t max_execs;	/* concurrent execs; 0: only the host's limit */
};

/* "tls": HTTPS on the TCP listeners. */
struct ajd_tls {
	char cert[JAIL_MAX_PATH + 1]; /* "": no TLS */
	char key[JAIL_MAX_PATH + 1];
};

/* "agentcube": the AgentCube-compatible API's template name → profile. */
#define AJD_MAX_TEMPLATES 32
struct ajd_agentcube {
	struct {
		char name[JAIL_MAX_NAME + 1];
		char profile[JAIL_MAX_NAME + 1];
	} templates[AJD_MAX_TEMPLATES];
	size_t n_templates;
	char default_profile[JAIL_MAX_NAME + 1]; /* "": the daemon's default_profile */
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
	struct ajd_auth auth;
	struct ajd_tenant tenants[AJD_MAX_TENANTS];
	size_t n_tenants;
	struct ajd_tls tls;
	struct ajd_agentcube agentcube;
};

/* The policy of a tenant: its own entry, else "*", else the built-in one
 * (any profile without host access, no quotas). Never NULL. */
const struct ajd_tenant *ajd_tenant_policy(const struct ajd_config *c, const char *tenant);
/* The profile the AgentCube template `name` maps to. */
const char *ajd_agentcube_profile(const struct ajd_config *c, const char *name);

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
