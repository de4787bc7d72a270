# shellcheck shell=sh
# secrets, the kinds: what a secret looks like. The prefixes, lengths and
# alphabets are the facts of the published rule sets of gitleaks
# (config/gitleaks.toml) and trufflehog (pkg/detectors), written out without
# their context rules; docs/steps.md#secrets lists each kind.

# secret_any: one extended regular expression that every kind below
# matches, for grep to pick the candidate lines.
secret_any='(A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}|[Ss][Ee][Cc][Rr][Ee][Tt]_?[Aa][Cc][Cc][Ee][Ss][Ss]_?[Kk][Ee][Yy]|-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----|PuTTY-User-Key-File-[0-9]|gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22}|gl(pat|ptt|rt|dt)-[A-Za-z0-9_-]{20}|xox[abposr]-[0-9A-Za-z-]{10}|xapp-[0-9]-|hooks\.slack\.com/services/|[rs]k_live_[0-9A-Za-z]{24}|AIza[0-9A-Za-z_-]{35}|npm_[A-Za-z0-9]{36}|"auth"[[:space:]]*:[[:space:]]*"[A-Za-z0-9+/]{8}|"private_key_id"[[:space:]]*:[[:space:]]*"[0-9a-f]{40}"|AccountKey=[A-Za-z0-9+/]{86}==|T3BlbkFJ|sk-ant-(api03|admin01)-|hf_[A-Za-z]{34}|pypi-AgEIcHlwaS5vcmc|SG\.[A-Za-z0-9=_.-]{66}|do[opr]_v1_[a-f0-9]{64}|hv[sb]\.[A-Za-z0-9_-]{90}|\.atlasv1\.|shp(at|ca|pa|ss)_[a-fA-F0-9]{32}|AGE-SECRET-KEY-1|dapi[a-f0-9]{32}|gl(sa|c)_[A-Za-z0-9]{32}|PMAK-[a-fA-F0-9]{24}|dp\.pt\.[A-Za-z0-9]{43}|dckr_(pat|oat)_[A-Za-z0-9_-]{27}|[A-Za-z][A-Za-z0-9+.-]*://[^/?#@[:space:]"'"'"'<>]+:[^/?#@[:space:]"'"'"'<>]+@'

# secret_classify: an awk program over grep -Z -n -H output (the NUL after
# the file name turned into \001): for each line, the kinds of secret in it,
# as "RANK<TAB>FILE:LINE KIND, KIND" (a newline in FILE shown as ?), never
# the text; RANK is 1 where the path says test, example or documentation, 0
# otherwise.
# It also writes, to the file ENVIRON["SECRET_GROUPS"], one line per hit for
# the step's summary: RANK<TAB>DIRECTORY<TAB>NAME<TAB>LINE<TAB>KINDS. Files
# that match a glob of secrets_allow (in the environment, one per line) are
# accepted.
# Placeholders that documentation uses are not secrets: AWS's EXAMPLE keys,
# Azurite's published development key, and in URLs a password that is a
# template (${VAR}, <var>, {{var}}, %s), a word documentation uses for one,
# or any password for a host that is reserved for documentation. Debian's
# awk (mawk) has no {n} in regular expressions: rep() writes them out.
# shellcheck disable=SC2016 # an awk program
secret_classify='
function rep(c, n,   s) { s = ""; while (n-- > 0) s = s c; return s }
function glob(p, s,   r, i, c) {
	r = ""
	for (i = 1; i <= length(p); i++) {
		c = substr(p, i, 1)
		if (c == "*") r = r ".*"
		else if (c == "?") r = r "."
		else if (c ~ /[A-Za-z0-9_\/-]/) r = r c
		else if (c == "^" || c == "\\" || c == "[" || c == "]") r = r "\\" c
		else r = r "[" c "]"
	}
	return s ~ ("^" r "$")
}
# placeholder(user, pass, host): the credentials of a URL that documents a
# form rather than holds a secret.
function placeholder(user, pass, host,   p) {
	p = tolower(pass)
	if (pass ~ /^([$<{%]|[*]+$|[xX]+$|[.][.][.])/) return 1
	if (p ~ /^(pass|password|passwd|pwd|secret|changeme|example|test|foo|bar|baz|dummy|fake|placeholder|mypassword|yourpassword|your_password|your-password)$/) return 1
	host = tolower(host)
	return host ~ /(^|[.])example[.](com|net|org)$/ || host ~ /[.](example|test|invalid|localhost)$/ || host ~ /^(example|invalid)$/
}
BEGIN {
	n = split(ENVIRON["AMI_HARDEN_SECRETS_ALLOW"], allowed, "\n")
	groups = ENVIRON["SECRET_GROUPS"]
	edge = "(^|[^A-Za-z0-9_])"
	aws_id = "(A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)" rep("[A-Z0-9]", 16)
	aws_id_longer = "[A-Z0-9](A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)" rep("[A-Z0-9]", 16) "|(A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)" rep("[A-Z0-9]", 17)
	aws_secret = "[Ss][Ee][Cc][Rr][Ee][Tt]_?[Aa][Cc][Cc][Ee][Ss][Ss]_?[Kk][Ee][Yy][^A-Za-z0-9/+=]*" rep("[A-Za-z0-9/+=]", 40)
	# Each kind: its name, then its expression.
	k = 0
	kind[++k] = "GitHub token";        re[k] = "gh[pousr]_" rep("[A-Za-z0-9]", 36) "|github_pat_" rep("[A-Za-z0-9_]", 22)
	kind[++k] = "GitLab token";        re[k] = "gl(pat|rt|dt)-" rep("[A-Za-z0-9_-]", 20) "|glptt-" rep("[0-9a-f]", 40)
	kind[++k] = "Slack token";         re[k] = "xox[abposr]-" rep("[0-9A-Za-z-]", 10) "|xapp-[0-9]-[A-Z0-9]+-[0-9]+-[a-z0-9]+|hooks[.]slack[.]com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]+"
	kind[++k] = "Stripe key";          re[k] = "[rs]k_live_" rep("[0-9A-Za-z]", 24)
	kind[++k] = "Google API key";      re[k] = "AIza" rep("[0-9A-Za-z_-]", 35)
	kind[++k] = "npm token";           re[k] = "npm_" rep("[A-Za-z0-9]", 36)
	kind[++k] = "registry auth";       re[k] = "\"auth\"[ \t]*:[ \t]*\"" rep("[A-Za-z0-9+/]", 8) "[A-Za-z0-9+/]*=?=?\""
	kind[++k] = "Google service account key"; re[k] = "\"private_key_id\"[ \t]*:[ \t]*\"" rep("[0-9a-f]", 40) "\""
	kind[++k] = "Azure storage key";   re[k] = "AccountKey=" rep("[A-Za-z0-9+/]", 86) "=="
	kind[++k] = "OpenAI API key";      re[k] = "sk-(proj|svcacct|admin)-" rep("[A-Za-z0-9_-]", 58) "[A-Za-z0-9_-]*T3BlbkFJ" rep("[A-Za-z0-9_-]", 58) "|sk-" rep("[A-Za-z0-9]", 20) "T3BlbkFJ" rep("[A-Za-z0-9]", 20)
	kind[++k] = "Anthropic API key";   re[k] = "sk-ant-(api03|admin01)-" rep("[A-Za-z0-9_-]", 93) "AA"
	kind[++k] = "Hugging Face token";  re[k] = edge "hf_" rep("[A-Za-z]", 34)
	kind[++k] = "PyPI token";          re[k] = "pypi-AgEIcHlwaS5vcmc" rep("[A-Za-z0-9_-]", 50)
	kind[++k] = "SendGrid key";        re[k] = edge "SG[.]" rep("[A-Za-z0-9=_.-]", 66)
	kind[++k] = "DigitalOcean token";  re[k] = "do[opr]_v1_" rep("[a-f0-9]", 64)
	kind[++k] = "Vault token";         re[k] = "hvs[.]" rep("[A-Za-z0-9_-]", 90) "|hvb[.]" rep("[A-Za-z0-9_-]", 138)
	kind[++k] = "Terraform Cloud token"; re[k] = rep("[A-Za-z0-9]", 14) "[.]atlasv1[.]" rep("[A-Za-z0-9_=-]", 60)
	kind[++k] = "Shopify token";       re[k] = "shp(at|ca|pa|ss)_" rep("[a-fA-F0-9]", 32)
	kind[++k] = "age secret key";      re[k] = "AGE-SECRET-KEY-1" rep("[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]", 58)
	kind[++k] = "Databricks token";    re[k] = edge "dapi" rep("[a-f0-9]", 32)
	kind[++k] = "Grafana token";       re[k] = edge "(glsa_" rep("[A-Za-z0-9]", 32) "_" rep("[A-Fa-f0-9]", 8) "|glc_" rep("[A-Za-z0-9+/]", 32) ")"
	kind[++k] = "Postman key";         re[k] = "PMAK-" rep("[a-fA-F0-9]", 24) "-" rep("[a-fA-F0-9]", 34)
	kind[++k] = "Doppler token";       re[k] = "dp[.]pt[.]" rep("[A-Za-z0-9]", 43)
	kind[++k] = "Docker Hub token";    re[k] = "dckr_(pat|oat)_" rep("[A-Za-z0-9_-]", 27)
	nk = k
}
{
	i = index($0, "\001")
	if (!i) next
	file = substr($0, 1, i - 1); rest = substr($0, i + 1)
	line = rest; sub(/:.*/, "", line); t = substr(rest, length(line) + 2)
	for (a = 1; a <= n; a++) if (allowed[a] != "" && glob(allowed[a], file)) next
	kinds = ""
	if (t ~ aws_id && t !~ /EXAMPLE/ && t !~ aws_id_longer) kinds = kinds ", AWS access key id"
	if (t ~ aws_secret && t !~ /EXAMPLEKEY/) kinds = kinds ", AWS secret access key"
	if (t ~ /-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----/) kinds = kinds ", private key"
	if (t ~ /PuTTY-User-Key-File-[0-9]/) kinds = kinds ", PuTTY private key"
	for (k = 1; k <= nk; k++) {
		if (t !~ re[k]) continue
		# Azurite, the Azure storage emulator, publishes its key.
		if (kind[k] == "Azure storage key" && t ~ /devstoreaccount1/) continue
		kinds = kinds ", " kind[k]
	}
	u = t
	while (match(u, /[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\/?#@ \t"\047<>]+:[^\/?#@ \t"\047<>]+@/)) {
		cred = substr(u, RSTART, RLENGTH); u = substr(u, RSTART + RLENGTH)
		sub(/^[^:]*:\/\//, "", cred); user = cred; sub(/:.*/, "", user)
		pass = substr(cred, length(user) + 2); sub(/@$/, "", pass)
		host = u; sub(/[\/:?#@ \t"\047<>].*/, "", host)
		if (placeholder(user, pass, host)) continue
		kinds = kinds ", URL with a password"
		break
	}
	if (kinds == "") next
	gsub(/\n/, "?", file)
	dir = file; sub(/[^\/]*$/, "", dir); base = substr(file, length(dir) + 1)
	rank = (file ~ /\/(tests?|testdata|__tests__|spec|fixtures?|examples?|docs?|samples?|demo)\// ||
		base ~ /^(README|CHANGELOG|CHANGES|HISTORY|NEWS)|[.](md|rst|html?)$|_test[.]go$|[.](test|spec)[.][jt]s$/) ? 1 : 0
	print rank "\t" file ":" line " " substr(kinds, 3)
	if (groups == "") next
	gsub(/\t/, "?", dir); gsub(/\t/, "?", base)
	print rank "\t" dir "\t" base "\t" line "\t" substr(kinds, 3) > groups
}'
