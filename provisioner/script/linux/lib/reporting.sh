# shellcheck shell=sh
# Reporting: the lines the provisioner reads (the protocol is documented in
# provisioner/report/report.go) and the small helpers that shape a step's
# detail. Nothing here touches the image.

# report STEP STATUS DETAIL: the one line the provisioner reads for a step.
report() {
	_detail=$(printf '%s' "$3" | tr '\t\r\n' '   ')
	printf '@@ami-harden step %s %s %s\n' "$1" "$2" "${_detail:--}"
	printf '%s\n' "$1" >>"$work/reported"
	[ "$2" = failed ] && printf '%s\n' "$1" >>"$work/failed"
	return 0
}

# finding STEP TEXT: in audit mode, one thing the step would change.
finding() {
	_text=$(printf '%s' "$2" | tr '\t\r\n' '   ')
	printf '@@ami-harden finding %s %s\n' "$1" "$_text"
	printf '%s\n' "$1" >>"$work/findings"
}

# note STEP TEXT: something the step leaves in place that the user must know
# about (a way into the image that stays, say); shown on a line of its own.
note() {
	_text=$(printf '%s' "$2" | tr '\t\r\n' '   ')
	printf '@@ami-harden note %s %s\n' "$1" "$_text"
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
# showing only: a newline inside a name is shown as "?".
lines0() {
	tr '\n\0' '?\n' <"$1"
}

# count0 FILE: how many names a NUL-separated list holds.
count0() {
	tr -cd '\0' <"$1" | wc -c | tr -d ' '
}

# show NAME: a name as one line, a newline inside it shown as "?".
show() {
	printf '%s' "$1" | tr '\n' '?'
}

# refuse TEXT: note in this step's refusals something it would not do. What
# was refused fails the step (see finish_wipe): a secret may be left there.
refuse() {
	printf '%s\n' "$1" >>"$refused"
}
