# Audit an AMI someone else built, without booting it and without changing
# it: amazon-chroot makes a volume from the AMI's snapshot, attaches it to the
# EC2 instance Packer runs on and runs the audit in a chroot of it, so the
# files checked are exactly those the AMI shares (a booted instance would
# already have new host keys, logs and keys). Audit mode changes nothing; the
# build fails on any finding, and then nothing is registered.
#
# amazon-chroot cannot skip the registration (skip_create_ami is an amazon-ebs
# option; packer-plugin-amazon v1.3.2's chroot builder always snapshots the
# volume and registers an AMI). An AMI that passes is therefore registered
# again, as "audited-<id>-<time>": a copy of the volume that nothing has
# written to, so its snapshot holds the same blocks as the original. Use it as
# the audited AMI, or deregister it.
#
# Run it as root on an EC2 instance in the AMI's region (the region is the
# instance's own):
#   cd example/audit
#   packer init .
#   packer build -var ami_id=ami-0123456789abcdef0 .
packer {
  required_plugins {
    amazon = {
      source  = "github.com/hashicorp/amazon"
      version = ">= 1.3.2"
    }
    ami-harden = {
      source  = "github.com/ami-harden/ami-harden"
      version = ">= 0.1.0"
    }
  }
}

variable "ami_id" {
  type        = string
  description = "The AMI to audit."
  default     = "ami-0123456789abcdef0"
}

source "amazon-chroot" "audit" {
  source_ami      = var.ami_id
  ami_name        = "audited-${var.ami_id}-{{timestamp}}"
  ami_description = "${var.ami_id}, unchanged, after an ami-harden audit without findings"

  # Nothing from this instance goes into the image. The default copies the
  # instance's /etc/resolv.conf over the image's and deletes it at the end:
  # the registered copy would have lost its own resolv.conf.
  copy_files = []

  # Nothing writes to the volume. Before it is mounted, the kernel is told
  # the device and its partitions are read-only ({{.Device}}* is /dev/sdf and
  # /dev/sdf1, or the xvd names; on Nitro instances Amazon Linux makes these
  # links to the NVMe devices): a plain read-only mount of ext4 still replays
  # a journal and cleans up orphan inodes, and XFS replays its log, when the
  # snapshot was taken from a running machine. With the device read-only such
  # a mount fails instead of writing. If you set nvme_device_path, name that
  # device and its partition here instead.
  pre_mount_commands = ["blockdev --setro {{.Device}}*"]
  # The file system itself read-only too: a write in the chroot fails (EROFS)
  # rather than reaching the page cache. An XFS image (Amazon Linux, RHEL)
  # whose UUID equals this instance's root file system's (same image family)
  # also needs "nouuid" here.
  mount_options = ["ro"]

  # amazon-chroot's default mounts, and a tmpfs on /run: the script's scratch
  # directory (/run/ami-harden.*), the privilege separation directory that
  # `sshd -T` wants (/run/sshd) and the uploaded script itself (remote_path
  # below) live in memory, as on a booted machine. /tmp stays the image's
  # own, so that the temp step audits what the image holds there.
  chroot_mounts = [
    ["proc", "proc", "/proc"],
    ["sysfs", "sysfs", "/sys"],
    ["bind", "/dev", "/dev"],
    ["devpts", "devpts", "/dev/pts"],
    ["binfmt_misc", "binfmt_misc", "/proc/sys/fs/binfmt_misc"],
    ["tmpfs", "tmpfs", "/run"],
  ]
}

build {
  sources = ["source.amazon-chroot.audit"]

  provisioner "ami-harden" {
    mode = "audit"
    # On the tmpfs above: the default, /tmp/ami-harden-<random>.sh, would be
    # written to the image's /tmp (and fail on the read-only mount).
    remote_path = "/run/ami-harden-audit.sh"
    # The chroot communicator already runs commands as root.
    execute_command = "/bin/sh '{{.Path}}'"
    report_file     = "reports/audit.json"
    junit_file      = "reports/audit.xml"
  }
}
