# For the Packer integration registry: what this plugin is and which
# component docs .web-docs holds (make generate writes the README files).
integration {
  name        = "ami-harden"
  description = "Cleans and hardens Linux and Windows machine images at the end of a build, audits them, and fails the build when anything could not be done."
  identifier  = "packer/ami-harden/ami-harden"
  component {
    type = "provisioner"
    name = "ami-harden"
    slug = "ami-harden"
  }
}
