# TestReleasedPlugin (release_test.go): the released plugin, as a user's
# template asks for it. The test puts the version under test into the
# required_plugins block below (Packer reads that block before variables, so
# it cannot take a var) and passes everything else with -var.
packer {
  required_plugins {
    ami-harden = {
      source  = "github.com/ami-harden/ami-harden"
      version = "= RELEASE_VERSION"
    }
  }
}

variable "ssh_port" {
  type = number
}

variable "ssh_private_key_file" {
  type = string
}

variable "report_file" {
  type = string
}

variable "junit_file" {
  type = string
}

source "null" "target" {
  ssh_host             = "127.0.0.1"
  ssh_port             = var.ssh_port
  ssh_username         = "builder"
  ssh_private_key_file = var.ssh_private_key_file
}

build {
  sources = ["source.null.target"]

  provisioner "ami-harden" {
    report_file = var.report_file
    junit_file  = var.junit_file
    # The rig target gets its launch key from the rig (target.sh), not
    # from a key installer in the image.
    require_key_installer = false
  }
}
