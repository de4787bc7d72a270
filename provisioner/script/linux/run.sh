# shellcheck shell=sh
# The end of every rendered script: the steps above are defined, now run.

# The script leaves nothing behind: it removes itself before changing anything
# (the shell keeps reading it from the open file).
[ "$AMI_HARDEN_REMOVE_SELF" = 1 ] && rm -f -- "$0"

main
