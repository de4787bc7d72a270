# Audit an AMI someone else built, without booting it: amazon-chroot mounts a
# volume made from the AMI's snapshot on the build instance and runs the
# audit inside it, so the files checked are exactly those the AMI shares
# (a booted instance would already have new host keys, logs and keys).
# Audit mode changes nothing; the build fails on any finding, and only an
# AMI that passes is registered again, as "audited-...".
#
# Run it as root on an EC2 instance in the AMI's region:
#   cd example/audit && packer init . && packer build -var ami_id=ami-0123456789abcdef0 .
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
  source_ami = var.ami_id
  ami_name   = "audited-${var.ami_id}-{{timestamp}}"
}

build {
  sources = ["source.amazon-chroot.audit"]

  provisioner "ami-harden" {
    mode = "audit"
    # The chroot communicator already runs commands as root.
    execute_command = "/bin/sh '{{.Path}}'"
    report_file     = "reports/audit.json"
    junit_file      = "reports/audit.xml"
  }
}
