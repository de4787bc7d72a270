# The demo: harden a throwaway local Debian target (see demo.sh, run by
# `make demo`). On a real build the source is amazon-ebs or similar, and the
# provisioner block is the same single line, at the end of the build.
packer {
  required_plugins {
    ami-harden = {
      source  = "github.com/ami-harden/ami-harden"
      version = ">= 0.1.0"
    }
  }
}

# demo.sh passes the port of the target's sshd and the key it planted. The
# defaults only make `packer validate .` work: port 22 and your ssh-agent.
variable "ssh_port" {
  type        = number
  default     = 22
  description = "The port of the target's sshd on 127.0.0.1."
}

variable "ssh_private_key_file" {
  type        = string
  default     = ""
  description = "The key of the login user builder; empty: use ssh-agent."
}

source "null" "debian" {
  ssh_host             = "127.0.0.1"
  ssh_port             = var.ssh_port
  ssh_username         = "builder"
  ssh_private_key_file = var.ssh_private_key_file
  ssh_agent_auth       = var.ssh_private_key_file == ""
}

build {
  sources = ["source.null.debian"]

  # Last provisioner: it removes the login user's keys and locks passwords.
  provisioner "ami-harden" {
    # The demo's target has no cloud-init: the demo puts a key in itself
    # when it boots the image (target.sh boot). An AMI needs no such line:
    # cloud-init or EC2 Instance Connect installs the launch key.
    require_key_installer = false
  }
}
