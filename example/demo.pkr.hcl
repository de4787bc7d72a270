# The demo: harden a throwaway local Debian target (see example/demo.sh).
# On a real build the source is amazon-ebs or similar, and the provisioner
# block is the same single line, at the end of the build.

variable "ssh_port" {
  type = number
}

variable "ssh_private_key_file" {
  type = string
}

source "null" "debian" {
  ssh_host             = "127.0.0.1"
  ssh_port             = var.ssh_port
  ssh_username         = "builder"
  ssh_private_key_file = var.ssh_private_key_file
}

build {
  sources = ["source.null.debian"]

  # Last provisioner: it removes the login user's keys and locks passwords.
  provisioner "ami-harden" {}
}
