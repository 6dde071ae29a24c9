#!/usr/bin/env bash
# The command line: errors, profiles, environment, limits, --help vs man.
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$0")/../harness/lib.sh"
need_root

# Setup errors: exit 255 and one line naming the step, object and errno.
err=$("$AJ" --bindmount_ro /nonexistent -- true 2>&1)
rc=$?
expect_eq "--bindmount_ro /nonexistent: exit 255" 255 "$rc"
expect_eq "... with one line naming the mount and the errno" \
	"agentjail: mount /nonexistent -> /nonexistent (bind,ro): No such file or directory" "$err"
err=$("$AJ" --rlimit_nofile lots -- true 2>&1)
expect_eq "a bad option value: exit 255 and what was expected" \
	"agentjail: --rlimit_nofile 'lots': expected a count, or max|hard|def|soft|inf" "$err"
err=$("$AJ" --no-such-option -- true 2>&1)
expect_match "an unknown option is named" "unknown option '--no-such-option'" "$err"
err=$("$AJ" 2>&1)
expect_match "no command: says what is expected" 'no command given' "$err"
err=$("$AJ" -H 'bad host!' -- true 2>&1)
expect_match "a bad hostname is refused before anything runs" "hostname 'bad host!'" "$err"
err=$("$AJ" -u 0 -- true 2>&1)
expect_match "uid 0 inside is refused" "uid/gid 0 inside the jail is refused" "$err"
err=$("$AJ" -R relative:/x -- true 2>&1)
expect_match "a relative bind source is refused" "source 'relative'" "$err"

# Profiles.
expect_eq "check profiles/default.json" "configuration OK" "$("$AJ" check "$AJ_TOP/profiles/default.json")"
expect_eq "check minimal (builtin)" "configuration OK" "$("$AJ" check minimal)"
expect_eq "check python (builtin)" "configuration OK" "$("$AJ" check python)"
printf '{"format": 1, "hostname": "x", "limits": {"memroy": "1G"}}\n' >"$TMPD/bad.json"
err=$("$AJ" check "$TMPD/bad.json" 2>&1)
rc=$?
expect_eq "check of a bad profile exits 1" 1 "$rc"
expect_match "... naming the file, the JSON path and the expectation" \
	"$TMPD/bad.json: \\\$\\.limits: unknown key 'memroy'" "$err"
err=$("$AJ" --profile "$TMPD/bad.json" -- true 2>&1)
expect_eq "--profile with a bad profile: exit 255" 255 "$?"
expect_match "... with the same message" "unknown key 'memroy'" "$err"
printf '{"format": 1, "hostname": "fromprofile"}\n' >"$TMPD/p.json"
expect_eq "--profile FILE is used" fromprofile "$(aj --profile "$TMPD/p.json" -- /ajprobe hostname)"
expect_eq "options override the profile" fromcli "$(aj --profile "$TMPD/p.json" -H fromcli -- /ajprobe hostname)"
expect_eq "default hostname" agentjail "$(probe hostname)"

# Environment.
env_out=$(FOO=bar aj -- /ajprobe env | sort | tr '\n' ' ')
expect_eq "a clean default environment" \
	"HOME=/workspace LANG=C.UTF-8 PATH=/usr/local/bin:/usr/bin:/bin TMPDIR=/tmp " "$env_out"
expect_match "-E NAME=VALUE sets" 'X=1' "$(aj -E X=1 -- /ajprobe env)"
expect_match "-E NAME copies from the environment" 'FOO=bar' "$(FOO=bar aj -E FOO -- /ajprobe env)"
expect_match "-e keeps the whole environment" 'FOO=bar' "$(FOO=bar aj -e -- /ajprobe env)"
expect_match "-D sets the working directory" '^/tmp$' "$(aj -D /tmp -- /ajprobe cwd)"

# rlimits: nsjail's units, only ever lowered.
expect_match "--rlimit_nofile 64" '^nofile 64 64$' "$(aj --rlimit_nofile 64 -- /ajprobe rlimits | grep nofile)"
expect_match "--rlimit_fsize 1 is 1 MiB" '^fsize 1048576 1048576$' "$(aj --rlimit_fsize 1 -- /ajprobe rlimits | grep fsize)"
expect_match "core dumps off by default" '^core 0 0$' "$(probe rlimits | grep core)"
hard=$(ulimit -Hn)
out=$("$AJ" -R "$PROBE:/ajprobe" --rlimit_nofile $((hard + 1000)) -- /ajprobe rlimits 2>"$TMPD/w")
expect_match "a limit above the hard limit is lowered to it" "^nofile $hard $hard\$" "$(grep nofile <<<"$out")"
expect_match "... and says so" 'above the hard limit' "$(cat "$TMPD/w")"
out=$(aj --rlimit_fsize 1 -- sh -c 'head -c 2M /dev/zero > /tmp/f' 2>&1)
expect_match "RLIMIT_FSIZE is enforced" 'File size limit exceeded|File too large' "$out"

# Python and bash are usable in the default profile.
expect_eq "python3 runs" 1 "$(aj -- python3 -c 'print(1)')"
# shellcheck disable=SC2016 # expanded by the jail's bash
expect_eq "bash runs" 3 "$(aj -- bash -c 'echo $((1+2))')"

# --help and the man page list the same options.
help_opts=$("$AJ" --help | grep -Eo -- '--[a-z0-9_]+' | sort -u)
man_opts=$(grep -E '^\.It Fl' "$AJ_TOP/man/agentjail.1" | grep -Eo 'Fl -[a-z0-9_]+' | sed 's/^Fl -/--/' | sort -u)
if [ "$help_opts" = "$man_opts" ]; then ok "--help and agentjail(1) list the same long options"; else
	nok "--help and agentjail(1) list the same long options"
	diag "$(diff <(echo "$help_opts") <(echo "$man_opts"))"
fi
