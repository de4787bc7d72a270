# shellcheck shell=sh
# history: shell and tool histories in every home (home_files_history). HISTFILE
# is unset above, so the shell running this script writes nothing back afterwards.
#
# The files taken in every home, relative to it (a * only in the last part).
# shellcheck disable=SC2034 # read through home_files, by name
home_files_history='.bash_history .zsh_history .zhistory .sh_history .ash_history .history
.python_history .mysql_history .psql_history .sqlite_history .lesshst .viminfo .node_repl_history
.rediscli_history .irb_history .local/share/fish/fish_history .local/share/nano/search_history'

step_history() {
	homes_pass
	use_lists history
	finish_wipe history
}
