# The VM demo and TestVMPipeline (see demo-vm.sh, run by `make demo-vm`): a
# real image build with the qemu builder. A Debian bookworm disk
# (test/rig/vm.sh base) boots under QEMU, cloud-init makes the login user from
# a NoCloud seed (as EC2 does from its metadata), provisioners leave the usual
# dirt, and ami-harden, the last provisioner, cleans up before the builder
# shuts the machine down.
#
# demo-vm.sh and the test pass every path with -var; the defaults only make
# `packer validate .` work in this folder (they name no disk that exists).
packer {
  required_plugins {
    ami-harden = {
      source  = "github.com/ami-harden/ami-harden"
      version = ">= 0.1.0"
    }
    qemu = {
      source  = "github.com/hashicorp/qemu"
      version = ">= 1.0.9"
    }
  }
}

variable "base_disk" {
  type        = string
  default     = "base.qcow2"
  description = "A copy of the base disk (qcow2) that vm.sh base prints."
}

variable "base_disk_checksum" {
  type        = string
  default     = "none"
  description = "sha256:HEX of base_disk."
}

variable "accelerator" {
  type        = string
  default     = "tcg"
  description = "kvm or tcg: what vm.sh accel prints."
}

variable "seed_dir" {
  type        = string
  default     = ""
  description = "A directory with the NoCloud user-data and meta-data (vm.sh seed); empty: no seed CD."
}

variable "ssh_private_key_file" {
  type        = string
  default     = ""
  description = "The key of the login user builder that the seed names; empty: the builder's own temporary key."
}

variable "output_directory" {
  type        = string
  default     = ""
  description = "Where the image goes (must not exist); empty: output-debian."
}

variable "serial_log" {
  type        = string
  default     = "serial.log"
  description = "Where the VM's serial console goes."
}

variable "seed_script" {
  type        = string
  default     = ""
  description = "The dirt: a script run as root on the build machine; empty: test/rig/seed.sh of this repository."
}

variable "seed_freed_script" {
  type        = string
  default     = ""
  description = "Secrets that other programs free before the build, run as root with the argument AMIHARDENSECRET; empty: test/rig/seed-freed.sh of this repository."
}

variable "wipe_free_space" {
  type        = bool
  default     = true
  description = "ami-harden's wipe_free_space: false shows what the free blocks keep without it."
}

variable "log_marker" {
  type        = string
  default     = "demo"
  description = "Logged after the prefix AMIHARDENLOG, so that the whole word is in no uploaded file."
}

locals {
  seed_script       = var.seed_script != "" ? var.seed_script : "${path.root}/../../test/rig/seed.sh"
  seed_freed_script = var.seed_freed_script != "" ? var.seed_freed_script : "${path.root}/../../test/rig/seed-freed.sh"
  cd_files          = var.seed_dir != "" ? ["${var.seed_dir}/user-data", "${var.seed_dir}/meta-data"] : []
}

variable "show_host_key_part" {
  type        = bool
  default     = false
  description = "Print a line of the build's private host key, for a test to look for it on the image's disk."
}

source "qemu" "debian" {
  disk_image       = true
  iso_url          = var.base_disk
  iso_checksum     = var.base_disk_checksum
  skip_resize_disk = true
  format           = "qcow2"
  vm_name          = "image.qcow2"
  output_directory = var.output_directory
  accelerator      = var.accelerator
  # max under TCG: an emulated RDRAND, as a cloud's CPUs have.
  cpu_model = var.accelerator == "kvm" ? "host" : "max"
  memory    = 1024
  cpus      = 2
  headless  = true

  # The NoCloud seed, as a CD labelled cidata.
  cd_files = local.cd_files
  cd_label = "cidata"

  qemuargs = [
    ["-serial", "file:${var.serial_log}"],
    # The builder's own forward, on the loopback interface only.
    ["-netdev", "user,id=user.0,hostfwd=tcp:127.0.0.1:{{ .SSHHostPort }}-:22"],
  ]

  communicator         = "ssh"
  ssh_username         = "builder"
  ssh_private_key_file = var.ssh_private_key_file
  # Under TCG (no KVM) the first boot takes about a minute.
  ssh_timeout      = "15m"
  shutdown_command = "sudo shutdown -P now"
  shutdown_timeout = "5m"
}

build {
  sources = ["source.qemu.debian"]

  # Who the build machine is: compared with the relaunched instance.
  provisioner "shell" {
    remote_folder = "/dev/shm"
    inline = [
      "echo build-machine-id=$(cat /etc/machine-id)",
      "echo build-host-key=$(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | cut -d' ' -f2)",
      "echo build-host-pubkey=$(cut -d' ' -f2 /etc/ssh/ssh_host_ed25519_key.pub)",
      var.show_host_key_part ? "echo build-host-key-part=$(sudo sed -n 5p /etc/ssh/ssh_host_ed25519_key)" : "true",
    ]
  }

  # The dirt: secrets in homes, logs, temp files, cloud-init state, ...
  # Scripts go to /dev/shm (memory), so that their own text is on no disk.
  provisioner "shell" {
    remote_folder   = "/dev/shm"
    script          = local.seed_script
    execute_command = "sudo env {{ .Vars }} sh {{ .Path }}"
  }

  # Secrets that other programs delete without overwriting before ami-harden
  # runs (chpasswd's rename of /etc/shadow, a deleted host key, ...): in
  # free blocks, which a snapshot copies too.
  provisioner "shell" {
    remote_folder   = "/dev/shm"
    script          = local.seed_freed_script
    execute_command = "sudo env {{ .Vars }} sh {{ .Path }} AMIHARDENSECRET"
  }

  # Log lines with a word found nowhere else, as a user and through sudo.
  provisioner "shell" {
    remote_folder = "/dev/shm"
    inline = [
      "logger -t build \"AMIHARDENLOG\"'${var.log_marker}' as a user",
      "sudo logger -p auth.notice -t build \"AMIHARDENLOG\"'${var.log_marker}' through sudo",
    ]
  }

  # Last: it removes the build's login keys and locks passwords. seed.sh
  # leaves one credential where only its owner knows to look.
  # cloud-init installs the launch key at each instance's first boot: the
  # user-keys step finds it, so no require_key_installer here. The last
  # step overwrites the free space (wipe_free_space, on by default).
  provisioner "ami-harden" {
    wipe_paths      = ["/opt/app/it's here"]
    wipe_free_space = var.wipe_free_space
  }
}
