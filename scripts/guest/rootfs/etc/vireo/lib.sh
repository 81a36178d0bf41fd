# Helpers shared by the test guest's scripts (sourced; POSIX sh as run by busybox ash).
# /init writes the settings it derived from the kernel command line to /etc/vireo/env.
[ -r /etc/vireo/env ] && . /etc/vireo/env
VIREO_TTY=${VIREO_TTY:-/dev/console}

# Report lines are "VIREO-GUEST <kind> key=value ..." and must stay one line with space-free values,
# so values drop control characters and percent-encode "%" and " ".
enc() {
	printf '%s' "$1" | tr -d '\000-\037' | sed -e 's/%/%25/g' -e 's/ /%20/g'
}

# csv "a b c" -> "a,b,c" (DHCP hands lists over space-separated).
csv() {
	# shellcheck disable=SC2086 # word splitting is the point
	set -- $1
	old_ifs=$IFS
	IFS=,
	printf '%s' "$*"
	IFS=$old_ifs
}

report() {
	echo "VIREO-GUEST $*" >"$VIREO_TTY"
}

# For reports that can come while the shell's prompt (or a command's output) holds a partial
# line: start on a fresh line so the report still begins one.
report_async() {
	printf '\nVIREO-GUEST %s\n' "$*" >"$VIREO_TTY"
}

uptime_ms() {
	awk '{ printf "%d", $1 * 1000 }' /proc/uptime
}
