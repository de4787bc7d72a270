# Amazon Linux 2023 AMI, hardened as the last step of the build.
#
#   cd example/amazon-linux
#   packer init .
#   packer build .            # or: packer build -var region=us-east-1 .
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

source "amazon-ebs" "al2023" {
  region        = var.region
  instance_type = "t3.small"
  ami_name      = "app-al2023-{{timestamp}}"
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
}

build {
  sources = ["source.amazon-ebs.al2023"]

  provisioner "shell" {
    inline = ["sudo dnf -y install nginx"]
  }

  # Last: it removes ec2-user's authorized_keys and makes every password
  # unusable. Amazon Linux's cloud-init (and EC2 Instance Connect) installs
  # the launch key in each instance, which the user-keys step checks. Its
  # last step writes zeros over the root volume's free space (about 50 s for
  # 6 GiB at gp3's default 125 MiB/s): keep the root volume small.
  provisioner "ami-harden" {
    wipe_paths  = ["/opt/app/.env"]
    report_file = "reports/ami-harden.json"
    junit_file  = "reports/ami-harden.xml"
  }
}
