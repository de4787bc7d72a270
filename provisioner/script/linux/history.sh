# shellcheck shell=sh
# history: shell and tool histories in every home (home_files_history). HISTFILE
# is unset above, so the shell running this script writes nothing back afterwards.
step_history() {
	homes_pass
	use_lists history
	finish_wipe history
}
