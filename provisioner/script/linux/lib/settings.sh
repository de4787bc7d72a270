#!/bin/sh
# ami-harden: cleans and hardens a Linux machine before it becomes a shared image.
#
# The Packer provisioner joins the files of this directory (lib/, in a fixed
# order), the file of each selected step (steps/STEP.sh, and STEP.*.sh where
# a step has more than one file) and main.sh into one script, writes its
# parameters as plain shell assignments right below the first line, uploads
# it once, runs it once as root and reads its report from standard output
# (provisioner/script/script.go). The parameters (AMI_HARDEN_*) are described
# where they are written, in the script itself. The script of an empty
# `provisioner "ami-harden" {}` block is provisioner/testdata/default-linux.sh.
# To run that by hand (as root, on a machine you are about to turn into an
# image, NEVER on your workstation), change the parameters at its top, e.g.
# AMI_HARDEN_STEPS='sshd passwords', then `sh default-linux.sh`; with
# AMI_HARDEN_REMOVE_SELF='1' it deletes its own file as it starts.
#
# The report is one line per event on standard output, each starting with
# "@@ami-harden " (nothing else the script prints does); the words and
# what they mean are in provisioner/report/report.go. A step's DETAIL names
# files, accounts and counts; it never carries the contents of a file.
#
# Touching only what it owns: file names travel NUL-separated from a listing
# to the command that acts on them (or never leave find -exec); no step
# follows a symbolic link below the directory it was given, enters another
# mount, or writes through a file with more than one hard link; work below a
# directory that a user owns (a home, a user's directory under /tmp or
# /var/log) runs as that user, so that a user who swaps a file for a link
# between the listing and the wiping can only hurt what that user could
# destroy alone. What a step refuses it reports by path, and it fails the step
# where a secret may be left behind.
#
# Why each step exists: docs/steps.md.

set -u
umask 077
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH LC_ALL=C
# The build's own shell must not write a history file back after the wipe.
unset HISTFILE
