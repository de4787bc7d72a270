# The template that harden-ami.yml builds: an Amazon Linux 2023 AMI, hardened
# by ami-harden as the last step, which writes a JUnit file (one test case per
# step, a failure per finding or failed step) and a JSON report for CI.
#
#   packer init .
#   packer build -var region=eu-west-1 .
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
  type        = string
  default     = "eu-west-1"
  description = "The AWS region to build in (the workflow passes its AWS_REGION)."
}

variable "commit" {
  type        = string
  default     = "local"
  description = "The commit the image is built from (the workflow passes github.sha), as a tag."
}

source "amazon-ebs" "app" {
  region        = var.region
  instance_type = "t3.small"
  ami_name      = "app-{{timestamp}}"
  ssh_username  = "ec2-user" # has passwordless sudo, as ami-harden expects

  source_ami_filter {
    filters = {
      name                = "al2023-ami-2023.*-x86_64"
      root-device-type    = "ebs"
      virtualization-type = "hvm"
    }
    owners      = ["amazon"]
    most_recent = true
  }

  tags = {
    Commit = var.commit
  }
}

build {
  sources = ["source.amazon-ebs.app"]

  provisioner "shell" {
    inline = ["sudo dnf -y install nginx"]
  }

  # Last: it removes ec2-user's authorized_keys and makes every password
  # unusable. The files are written in the directory packer runs in, also
  # when the build fails; the workflow publishes both.
  provisioner "ami-harden" {
    junit_file  = "ami-harden-junit.xml"
    report_file = "ami-harden-report.json"
  }
}
