# shellcheck shell=sh
# credentials: cloud and tool credentials in every home (home_files_credentials),
# and wipe_paths. A wipe path is taken on only when no directory on its way
# down from / is a symbolic link (the user named that path, not what a link
# leads to) and it is no mount point itself; below it, nothing crosses into
# another mount. Directories above it may be mount points (/srv on a disk of
# its own): the user named a path there.
#
# The files taken in every home, relative to it (a * only in the last part;
# a name that is a directory there is wiped whole). Each is a file whose
# purpose is a login, or where the tool keeps one by default; a tool's
# plain settings stay. The tools' own documentation, by tool, for those
# added with pip's:
#   pip: .config/pip/pip.conf, and the legacy .pip/pip.conf, both read
#     (an index URL with user:password in it is pip's documented way to log
#     in): https://pip.pypa.io/en/stable/topics/configuration/ and
#     https://pip.pypa.io/en/stable/topics/authentication/
#   Poetry: auth.toml in its config directory, where the password goes
#     when no keyring is there: https://python-poetry.org/docs/repositories/
#   RubyGems: .gem/credentials, else .local/share/gem/credentials (API
#     keys of gem signin/push): https://docs.ruby-lang.org/en/master/Gem/ConfigFile.html
#     (credentials_path)
#   Composer: the global auth.json in COMPOSER_HOME (.config/composer, or
#     .composer where that exists):
#     https://getcomposer.org/doc/articles/authentication-for-private-packages.md
#   Yarn 2 and later: yarn npm login writes its token into .yarnrc.yml in
#     the home, never the project's: https://yarnpkg.com/cli/npm/login
#   Conan 2: credentials.json and source_credentials.json in its home:
#     https://docs.conan.io/2/reference/config_files/credentials.html
#   hub: .config/hub, where hub saves its OAuth token: https://github.com/github/hub (README)
#   Helm: .config/helm/registry/config.json, helm registry login's file:
#     https://helm.sh/docs/helm/helm_registry/ (--registry-config)
#   doctl: .config/doctl/config.yaml, where doctl auth init keeps the API
#     token: https://docs.digitalocean.com/reference/doctl/reference/auth/init/
#   OCI CLI: the whole .oci: its config (user, fingerprint, key_file), the
#     API signing key pair Oracle's steps make there (oci_api_key.pem) and
#     session tokens; the one setting file besides (oci_cli_rc) is cheap to
#     lose: https://docs.oracle.com/iaas/Content/API/Concepts/sdkconfig.htm and
#     https://docs.oracle.com/iaas/Content/API/Concepts/apisigningkey.htm
#   s3cmd: .s3cfg, with the access and secret key s3cmd --configure saves:
#     https://s3tools.org/kb/item14.htm
#   boto and gsutil: .boto, with the credentials gsutil config writes:
#     https://cloud.google.com/storage/docs/boto-gsutil
#   rclone: .config/rclone/rclone.conf (passwords only obscured, tokens in
#     clear): https://rclone.org/commands/rclone_obscure/
#   Hetzner hcloud: .config/hcloud/cli.toml, the contexts and their tokens:
#     https://github.com/hetznercloud/cli/blob/main/docs/tutorials/setup-hcloud-cli.md
#   Linode CLI: .config/linode-cli, its token: https://pypi.org/project/linode-cli/
#   Vultr CLI: .vultr-cli.yaml, its API key: https://github.com/vultr/vultr-cli
#   Scaleway: .config/scw/config.yaml (access_key, secret_key):
#     https://www.scaleway.com/en/docs/scaleway-cli/reference-content/scaleway-configuration-file/
#   Alibaba Cloud CLI: .aliyun/config.json, its profiles' AccessKeys:
#     https://www.alibabacloud.com/help/en/cli/configure-credentials/
#   OpenStack: .config/openstack/clouds.yaml ("may contain private
#     information") and secure.yaml (the secrets split out of it):
#     https://docs.openstack.org/openstacksdk/latest/user/config/configuration.html
# shellcheck disable=SC2034 # read through home_files, by name
home_files_credentials='.aws/credentials .aws/sso/cache .aws/cli/cache .docker/config.json .git-credentials .netrc .pgpass .my.cnf
.gnupg/private-keys-v1.d .gnupg/secring.gpg .local/share/keyrings .m2/settings.xml .gradle/gradle.properties
.cargo/credentials .cargo/credentials.toml .config/containers/auth.json
.config/gcloud/credentials.db .config/gcloud/access_tokens.db .config/gcloud/application_default_credentials.json
.config/gcloud/legacy_credentials .azure/accessTokens.json .azure/msal_token_cache.json
.kube/config .npmrc .pypirc .config/gh/hosts.yml .vault-token .terraform.d/credentials.tfrc.json
.config/pip/pip.conf .pip/pip.conf .config/pypoetry/auth.toml .gem/credentials .local/share/gem/credentials
.config/composer/auth.json .composer/auth.json .yarnrc.yml .conan2/credentials.json .conan2/source_credentials.json
.config/hub .config/helm/registry/config.json
.config/doctl/config.yaml .oci .s3cfg .boto .config/rclone/rclone.conf .config/hcloud/cli.toml .config/linode-cli
.vultr-cli.yaml .config/scw/config.yaml .aliyun/config.json .config/openstack/clouds.yaml .config/openstack/secure.yaml'

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
