# shellcheck shell=sh
# credentials: cloud and tool credentials in every home (home_files_credentials),
# and wipe_paths. A wipe path is taken on only when no directory on its way
# down from / is a symbolic link (the user named that path, not what a link
# leads to) and it is no mount point itself; below it, nothing crosses into
# another mount. Directories above it may be mount points (/srv on a disk of
# its own): the user named a path there.
#
# The files taken in every home, relative to it (a * only in the last part).
# shellcheck disable=SC2034 # read through home_files, by name
home_files_credentials='.aws/credentials .aws/sso/cache .aws/cli/cache .docker/config.json .git-credentials .netrc .pgpass .my.cnf
.gnupg/private-keys-v1.d .gnupg/secring.gpg .local/share/keyrings .m2/settings.xml .gradle/gradle.properties
.cargo/credentials .cargo/credentials.toml .config/containers/auth.json
.config/gcloud/credentials.db .config/gcloud/access_tokens.db .config/gcloud/application_default_credentials.json
.config/gcloud/legacy_credentials .azure/accessTokens.json .azure/msal_token_cache.json
.kube/config .npmrc .pypirc .config/gh/hosts.yml .vault-token .terraform.d/credentials.tfrc.json'

step_credentials() {
	homes_pass
	use_lists credentials
	mnt=""
	# Package repository credentials (apt's netrc-style files).
	set --
	for _f in /etc/apt/auth.conf /etc/apt/auth.conf.d/*; do
		[ -f "$_f" ] || [ -L "$_f" ] && set -- "$@" "$_f"
	done
	take_files 0:0 "$@"
	while IFS= read -r _p; do
		case $_p in /?*) ;; *) continue ;; esac
		if system_dir "$_p"; then
			refuse "not touched: wipe path $_p is a system directory"
			continue
		fi
		check_path "" "${_p#/}" || continue
		if [ -L "$_p" ] || [ -f "$_p" ]; then
			if is_mount "$_p"; then
				refuse "not entered: $(show "$_p") is a mount point"
			else
				take_files "$(controller "$_p")" "$_p"
			fi
		elif [ -d "$_p" ]; then
			if is_mount "$_p"; then
				refuse "not entered: $(show "$_p") is a mount point"
			else
				wipe_tree "$(controller "$_p")" "$_p"
			fi
		fi
	done <<EXTRA
$AMI_HARDEN_WIPE_PATHS
EXTRA
	finish_wipe credentials
}
