# Windows Server 2022 AMI over WinRM, hardened and generalised with Sysprep
# through EC2Launch v2 as the last step of the build.
#
#   packer init example/amazon-windows.pkr.hcl
#   packer build example/amazon-windows.pkr.hcl
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

source "amazon-ebs" "windows2022" {
  region         = var.region
  instance_type  = "t3.large"
  ami_name       = "app-windows2022-{{timestamp}}"
  communicator   = "winrm"
  winrm_username = "Administrator"
  winrm_use_ssl  = true
  winrm_insecure = true
  winrm_timeout  = "15m"
  user_data_file = "${path.root}/windows/winrm-bootstrap.txt"

  # Sysprep shuts the instance down itself (sysprep_shutdown below): Packer
  # waits for that instead of stopping it.
  disable_stop_instance = true

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

  # A feature install can leave a reboot pending; Sysprep refuses to run then.
  provisioner "windows-restart" {}

  # Last: EC2Launch v2 runs Sysprep and shuts the instance down.
  provisioner "ami-harden" {
    sysprep          = "ec2launch-v2"
    sysprep_shutdown = true
    report_file      = "reports/ami-harden-windows.json"
  }
}
