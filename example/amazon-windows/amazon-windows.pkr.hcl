# Windows Server 2022 AMI over WinRM, hardened and generalised with Sysprep
# through EC2Launch v2 as the last step of the build.
#
#   cd example/amazon-windows
#   packer init .
#   packer build .
#
# The Windows script of ami-harden has never run on Windows (see
# docs/provisioners/ami-harden.mdx, "Windows: what was checked, and what
# rests on reading"). Build in a test account and check an instance launched
# from the image before you share it.
#
# How the build ends, and what amazon-ebs needs for it:
#
# Once Sysprep begins, Windows takes no WinRM logon until the machine is off
# (hashicorp/packer#10129 and #12320, hashicorp/packer-plugin-amazon#637).
# So ami-harden does not run Sysprep over WinRM: its last step hands
# Sysprep, then the closing of the build's WinRM (and of the build's account
# too, unless that is the built-in Administrator, as here), to a process of
# its own on the instance, which starts once ami-harden's run is over. That
# process powers the instance off only when all of it worked; otherwise the
# instance stays up and says why in its console output and its Application
# event log.
#
# ami-harden waits for that power-off before it returns: it watches the
# WinRM port (TCP connections only, no logon) for up to power_off_timeout
# (default: sysprep_timeout plus 15 minutes, 45 minutes). An instance still
# up then fails the build, and no AMI is made;
# `packer build -on-error=abort .` keeps the instance for you to read why.
#
# So amazon-ebs needs nothing for it. With its defaults it stops an
# instance that is already off, which changes nothing, and makes the AMI of
# the stopped instance; disable_stop_instance = true would work too, but is
# not needed. Keep shutdown_behavior at its default, "stop": with
# "terminate" the power-off would terminate the instance. This template
# uses an on-demand instance: what a shutdown from inside does to a spot
# instance depends on its interruption behaviour, and is not tested.
#
# For an audit (mode = "audit" in the ami-harden block) nothing is handed
# over, the instance does not power itself off and ami-harden does not wait:
# amazon-ebs stops it as usual.
#
# The sysprep modes (variable "sysprep"), and what each needs:
#
# - "ec2launch-v2" (this AMI): EC2Launch v2 is installed. Nothing more.
# - "ec2launch-v1": an AMI with EC2Launch v1. Nothing more.
# - "ec2config": an older AMI with EC2Config. Nothing more.
# - "sysprep": an AMI without a launch agent. The admin-password step fails
#   without an agent, and nothing is handed over after a failed step: add
#   skip_steps = ["admin-password"] and set the Administrator password
#   another way. The script's own answer file sets no password.
# - "auto" (the provisioner's default): the launch agent found, else
#   "sysprep".
#
# In every mode: the windows-restart provisioner before ami-harden, because
# ami-harden stops before any change when a reboot is pending.
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

variable "region" {
  type    = string
  default = "eu-west-1"
}

variable "sysprep" {
  type        = string
  default     = "ec2launch-v2"
  description = "How ami-harden generalises the image: auto, ec2launch-v2, ec2launch-v1, ec2config or sysprep."
}

source "amazon-ebs" "windows2022" {
  region         = var.region
  instance_type  = "t3.large"
  ami_name       = "app-windows2022-{{timestamp}}"
  communicator   = "winrm"
  winrm_username = "Administrator"
  winrm_use_ssl  = true
  winrm_insecure = true
  winrm_timeout  = "15m"
  user_data_file = "${path.root}/winrm-bootstrap.txt"

  source_ami_filter {
    filters = {
      name                = "Windows_Server-2022-English-Full-Base-*"
      root-device-type    = "ebs"
      virtualization-type = "hvm"
    }
    owners      = ["amazon"]
    most_recent = true
  }
}

build {
  sources = ["source.amazon-ebs.windows2022"]

  provisioner "powershell" {
    inline = [
      "Install-WindowsFeature -Name Web-Server",
      # Windows reads ClearPageFileAtShutdown at boot: set before the restart
      # below, it also clears this build's own page file at the power-off
      # after Sysprep.
      "Set-ItemProperty -Path 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\Session Manager\\Memory Management' -Name ClearPageFileAtShutdown -Value 1 -Type DWord",
    ]
  }

  # A feature install can leave a reboot pending; ami-harden then stops
  # before it changes anything.
  provisioner "windows-restart" {}

  # Last: after its run, a process of its own on the instance runs Sysprep
  # and powers the instance off; ami-harden returns once it is off.
  provisioner "ami-harden" {
    sysprep     = var.sysprep
    report_file = "reports/ami-harden-windows.json"
  }
}
