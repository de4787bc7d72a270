# Windows Server 2022 AMI over WinRM, hardened and generalised with Sysprep
# through EC2Launch v2 as the last step of the build.
#
#   cd example/amazon-windows
#   packer init .
#   packer build .
#
# The Windows script of ami-harden has never run on Windows (see
# docs/provisioners/ami-harden.mdx, "What was checked, and what rests on
# reading"). Build in a test account and check an instance launched from the
# image before you share it.
#
# How Sysprep ends, and what amazon-ebs needs for it:
#
# - Default (this file as it is): Sysprep runs in a process of its own, the
#   provisioner asks for its result every 10 seconds, and the generalised
#   instance keeps running. amazon-ebs then stops it, as it always does.
#   Nothing to set on the builder.
# - Shutdown mode (packer build -var sysprep_shutdown=true .): once the
#   provisioner has Sysprep's result, the instance shuts itself down.
#   amazon-ebs must then wait for that and not stop it itself:
#   disable_stop_instance = true goes with sysprep_shutdown = true. The one
#   variable below sets both.
#
# The sysprep modes (variable "sysprep"), and what each needs:
#
# - "ec2launch-v2" (this AMI): EC2Launch v2 is installed. Nothing more.
# - "ec2launch-v1": an AMI with EC2Launch v1. Nothing more.
# - "ec2config": an older AMI with EC2Config. Nothing more; it does not need
#   shutdown mode.
# - "sysprep": an AMI without a launch agent. The admin-password step fails
#   without an agent, and Sysprep does not start after a failed step: add
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

variable "sysprep_shutdown" {
  type        = bool
  default     = false
  description = "true: the instance shuts itself down after Sysprep, and amazon-ebs waits for that (disable_stop_instance)."
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

  # false (the default): amazon-ebs stops the generalised instance itself.
  # true, only together with sysprep_shutdown = true: amazon-ebs waits for
  # the instance to stop by itself.
  disable_stop_instance = var.sysprep_shutdown

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
    inline = ["Install-WindowsFeature -Name Web-Server"]
  }

  # A feature install can leave a reboot pending; ami-harden then stops
  # before it changes anything.
  provisioner "windows-restart" {}

  # Last: it generalises the machine with Sysprep.
  provisioner "ami-harden" {
    sysprep          = var.sysprep
    sysprep_shutdown = var.sysprep_shutdown
    report_file      = "reports/ami-harden-windows.json"
  }
}
