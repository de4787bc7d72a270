# shellcheck shell=sh
# Reporting: the lines the provisioner reads (the protocol is documented in
# provisioner/report/report.go) and the small helpers that shape a step's
# detail. Nothing here touches the image.

# Characters the helpers look for, set once (a command substitution is a
# process): a tab separates the fields of the scratch files.
tab=$(printf '\t')
cr=$(printf '\r')
nl='
'

# swap_all TEXT CHAR WITH: sets sw to TEXT with every CHAR made WITH.
# Builtins only: every report line and shown name goes through it (a tr
# would be a process each time).
swap_all() {
	sw=$1
	while :; do
		case $sw in
		*"$2"*) sw="${sw%%"$2"*}$3${sw#*"$2"}" ;;
		*) return 0 ;;
		esac
	done
}

# one_line TEXT: sets ol to TEXT with each tab, carriage return and newline
# made a space: a report line is one line.
one_line() {
	swap_all "$1" "$tab" " "
	swap_all "$sw" "$cr" " "
	swap_all "$sw" "$nl" " "
	ol=$sw
}

# report STEP STATUS DETAIL: the one line the provisioner reads for a step.
report() {
	one_line "$3"
	printf '@@ami-harden step %s %s %s\n' "$1" "$2" "${ol:--}"
	: >"$work/reported.$1"
	[ "$2" = failed ] && printf '%s\n' "$1" >>"$work/failed"
	return 0
}

# finding STEP TEXT: in audit mode, one thing the step would change.
finding() {
	one_line "$2"
	printf '@@ami-harden finding %s %s\n' "$1" "$ol"
	printf '%s\n' "$1" >>"$work/findings"
}

# note STEP TEXT: something the step leaves in place that the user must know
# about (a way into the image that stays, say); shown on a line of its own.
note() {
	one_line "$2"
	printf '@@ami-harden note %s %s\n' "$1" "$ol"
}

# findings_from STEP FILE FORMAT: a finding per line of FILE (printf FORMAT
# with the line), every one: the report files keep the whole list, and
# Packer's output shows the first of them. One awk for them all: an audit of
# /tmp may have a hundred thousand.
findings_from() {
	awk -v step="$1" -v fmt="$3" -v rec="$work/findings" '
		{ t = $0; gsub(/[\t\r]/, " ", t); printf "@@ami-harden finding %s " fmt "\n", step, t; print step >>rec }
	' "$2"
}

# audit_result STEP OKDETAIL: the step's line in audit mode.
audit_result() {
	_n=$(grep -cx "$1" "$work/findings")
	if [ "$_n" -gt 0 ]; then
		report "$1" finding "$_n finding(s)"
	else
		report "$1" ok "$2"
	fi
}

# join: stdin lines joined with ", ", at most 20 of them, then "and N more".
join() {
	awk 'NF { n++; if (n <= 20) s = s (n > 1 ? ", " : "") $0 }
	     END { if (n > 20) s = s ", and " (n - 20) " more"; print s }'
}

# lines0 FILE: a NUL-separated list as one line per name, for reading and
# showing only: a newline inside a name is shown as "?". Nothing to start
# for an empty list, the usual case.
lines0() {
	[ -s "$1" ] || return 0
	tr '\n\0' '?\n' <"$1"
}

# count0 FILE: how many names a NUL-separated list holds.
count0() {
	if [ -s "$1" ]; then
		_c0=$(tr -cd '\0' <"$1" | wc -c)
		echo $((_c0))
	else
		echo 0
	fi
}

# show NAME: a name as one line, a newline inside it shown as "?".
show() {
	swap_all "$1" "$nl" "?"
	printf '%s' "$sw"
}

# refuse TEXT: note in this step's refusals something it would not do. What
# was refused fails the step (see finish_wipe): a secret may be left there.
refuse() {
	printf '%s\n' "$1" >>"$refused"
}
