package ec2fake

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The actions, in the order an amazon-ebs build of packer-plugin-amazon
// v1.3.2 makes them (builder/ebs/builder.go, the steps' Run, then their
// Cleanup in reverse). API reference:
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_<Action>.html;
// error codes: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html.

// Caller holds f.mu.
func (f *Fake) act(action string, p params) (body any, detail string, err error) {
	switch action {
	case "DescribeRegions":
		return f.describeRegions(p)
	case "DescribeImages":
		return f.describeImages(p)
	case "CreateKeyPair":
		return f.createKeyPair(p)
	case "DeleteKeyPair":
		return f.deleteKeyPair(p)
	case "CreateSecurityGroup":
		return f.createSecurityGroup(p)
	case "DescribeSecurityGroups":
		return f.describeSecurityGroups(p)
	case "AuthorizeSecurityGroupIngress":
		return f.authorizeIngress(p)
	case "DeleteSecurityGroup":
		return f.deleteSecurityGroup(p)
	case "RunInstances":
		return f.runInstances(p)
	case "DescribeInstances":
		return f.describeInstances(p)
	case "StopInstances":
		return f.stopInstances(p)
	case "TerminateInstances":
		return f.terminateInstances(p)
	case "CreateImage":
		return f.createImage(p)
	case "CreateTags":
		return f.createTags(p)
	case "DescribeVolumes":
		return f.describeVolumes(p)
	case "DeregisterImage":
		return f.deregisterImage(p)
	case "DeleteSnapshot":
		return f.deleteSnapshot(p)
	}
	return nil, "", errorf(Unsupported, "the fake does not model this action")
}

// DescribeRegions: StepPreValidate checks the build's region against this
// list (builder/common/step_pre_validate.go, AccessConfig.ValidateRegion in
// access_config.go, listEC2Regions in regions.go). The fake has one region.
func (f *Fake) describeRegions(p params) (any, string, error) {
	if err := p.only("RegionName"); err != nil {
		return nil, "", err
	}
	if names := p.list("RegionName"); len(names) > 0 && !slices.Contains(names, Region) {
		// API reference, DescribeRegions; error codes: InvalidParameterValue.
		return nil, "", errorf("InvalidParameterValue", "Invalid region names: %v", names)
	}
	return xDescribeRegions{head: h, Regions: []xRegion{{Name: Region, Endpoint: "ec2." + Region + ".amazonaws.com",
		OptInStatus: "opt-in-not-required"}}}, Region, nil
}

// DescribeImages: the source AMI by ID or filters (StepSourceAMIInfo,
// ami_filter.go GetFilteredImage), the AMI name not yet taken
// (StepPreValidate: Owner self, Filter name), the new AMI until it is
// available (AWSPollingConfig.WaitUntilAMIAvailable in state.go: aws-sdk-go's
// WaitUntilImageAvailable, success when every Images[].State is
// "available", failure on "failed"), and its snapshots (step_create_ami.go,
// step_create_tags.go).
func (f *Fake) describeImages(p params) (any, string, error) {
	if err := p.only("ImageId", "Owner", "Filter", "IncludeDeprecated"); err != nil {
		return nil, "", err
	}
	ids, owners, filters := p.list("ImageId"), p.list("Owner"), p.filters()
	for _, id := range ids {
		// Error codes: InvalidAMIID.NotFound, "The specified AMI doesn't
		// exist"; a deregistered AMI is no longer described (API
		// reference, DeregisterImage).
		if im, ok := f.images[id]; !ok || im.state == "deregistered" {
			return nil, id, errorf("InvalidAMIID.NotFound", "The image id '[%s]' does not exist", id)
		}
	}
	out := xDescribeImages{head: h}
	var shown []string
	for _, id := range f.imageIDs {
		im := f.images[id]
		if im.state == "deregistered" || (len(ids) > 0 && !slices.Contains(ids, id)) {
			continue
		}
		// API reference, DescribeImages, Owner.N: "self", "amazon", or an
		// account ID.
		if len(owners) > 0 && !slices.ContainsFunc(owners, func(o string) bool {
			return o == im.ownerID || (o == "self" && im.ownerID == Account) || (o != "" && o == im.ownerAlias)
		}) {
			continue
		}
		ok, err := im.matches(filters)
		if err != nil {
			return nil, "", err
		}
		if !ok {
			continue
		}
		state := im.described()
		shown = append(shown, id+": "+state)
		out.Images = append(out.Images, f.xImage(im, state))
	}
	if len(shown) == 0 {
		shown = []string{"none"}
	}
	return out, strings.Join(shown, ", "), nil
}

// matches the DescribeImages filters the fake models (API reference,
// DescribeImages, Filter.N).
func (im *image) matches(filters []filter) (bool, error) {
	for _, fl := range filters {
		var value string
		switch fl.name {
		case "name":
			value = im.name
		case "image-id":
			value = im.id
		case "state":
			value = im.state
		case "owner-alias":
			value = im.ownerAlias
		case "owner-id":
			value = im.ownerID
		case "platform":
			value = im.platform
		case "architecture":
			value = "x86_64"
		case "root-device-type":
			value = "ebs"
		case "virtualization-type":
			value = "hvm"
		case "image-type":
			value = "machine"
		default:
			return false, errorf(Unsupported, "the fake does not model the DescribeImages filter %q", fl.name)
		}
		if !fl.matches(value) {
			return false, nil
		}
	}
	return true, nil
}

// xImage is an AMI as DescribeImages shows it. Hypervisor "xen": API
// reference, Image, hypervisor: "The value xen is used for both Xen and
// Nitro hypervisors".
func (f *Fake) xImage(im *image, state string) xImage {
	x := xImage{ID: im.id, State: state, OwnerID: im.ownerID, OwnerAlias: im.ownerAlias,
		CreationDate: im.created.UTC().Format("2006-01-02T15:04:05.000Z"), Public: im.public, Architecture: "x86_64", ImageType: "machine",
		Platform: im.platform, PlatformDetails: im.platformDetails, Name: im.name, Description: im.description,
		RootDeviceType: "ebs", RootDeviceName: im.rootDevice, VirtualizationType: "hvm", Hypervisor: "xen",
		EnaSupport: true, Tags: xTags(im.tags)}
	d := xImageDevice{DeviceName: im.rootDevice}
	d.Ebs.SnapshotID, d.Ebs.VolumeSize, d.Ebs.DeleteOnTermination, d.Ebs.VolumeType = im.snapshotID, im.volumeSize, true, "gp2"
	x.BlockDevices = []xImageDevice{d}
	return x
}

// CreateKeyPair: StepKeyPair makes a temporary key pair unless the
// template names one (builder/common/step_key_pair.go; RunConfig.Prepare in
// run_config.go names it packer_<uuid>, type rsa by default). API
// reference, CreateKeyPair: keyMaterial is "an unencrypted PEM encoded RSA
// or ED25519 private key"; "for RSA key pairs, the key fingerprint is the
// SHA-1 digest of the DER encoded private key". A name already taken is
// InvalidKeyPair.Duplicate (error codes).
func (f *Fake) createKeyPair(p params) (any, string, error) {
	if err := p.only("KeyName", "KeyType", "KeyFormat", "TagSpecification"); err != nil {
		return nil, "", err
	}
	name := p.get("KeyName")
	if t := p.get("KeyType"); t != "" && t != "rsa" {
		return nil, name, errorf(Unsupported, "the fake makes rsa key pairs only, not %q", t)
	}
	if ft := p.get("KeyFormat"); ft != "" && ft != "pem" {
		return nil, name, errorf(Unsupported, "the fake writes pem key material only, not %q", ft)
	}
	if _, ok := f.keyPairs[name]; ok {
		return nil, name, errorf("InvalidKeyPair.Duplicate", "The keypair '%s' already exists.", name)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, name, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, name, err
	}
	sum := sha1.Sum(pkcs8)
	hexes := make([]string, len(sum))
	for i, b := range sum {
		hexes[i] = fmt.Sprintf("%02x", b)
	}
	kp := &keyPair{id: f.newID("key"), name: name, fingerprint: strings.Join(hexes, ":"), tags: p.tagSpecs("key-pair")}
	f.keyPairs[name] = kp
	material := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return xCreateKeyPair{head: h, KeyName: name, Fingerprint: kp.fingerprint, Material: string(material),
		KeyPairID: kp.id, Tags: xTags(kp.tags)}, name, nil
}

// DeleteKeyPair: StepKeyPair's Cleanup deletes the key pair it made, by
// name (step_key_pair.go).
func (f *Fake) deleteKeyPair(p params) (any, string, error) {
	if err := p.only("KeyName", "KeyPairId"); err != nil {
		return nil, "", err
	}
	name := p.get("KeyName")
	out := xDeleteKeyPair{head: h, Return: true}
	if kp, ok := f.keyPairs[name]; ok {
		out.KeyPairID = kp.id
		delete(f.keyPairs, name)
	}
	return out, name, nil
}

// CreateSecurityGroup: StepSecurityGroup makes a temporary group, named
// packer_<uuid>, in the build's VPC, which is "" without vpc_id
// (builder/common/step_security_group.go). API reference,
// CreateSecurityGroup: VpcId is "required for a nondefault VPC": without
// it the group is the default VPC's. A name taken in the VPC is
// InvalidGroup.Duplicate (error codes).
func (f *Fake) createSecurityGroup(p params) (any, string, error) {
	if err := p.only("GroupName", "GroupDescription", "VpcId", "TagSpecification"); err != nil {
		return nil, "", err
	}
	name, vpc := p.get("GroupName"), p.get("VpcId")
	if vpc == "" {
		vpc = defaultVPC
	}
	if vpc != defaultVPC {
		return nil, name, errorf("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", vpc)
	}
	for _, g := range f.groups {
		if g.name == name && g.vpcID == vpc {
			return nil, name, errorf("InvalidGroup.Duplicate", "The security group '%s' already exists for VPC '%s'", name, vpc)
		}
	}
	g := &group{id: f.newID("sg"), name: name, description: p.get("GroupDescription"), vpcID: vpc, tags: p.tagSpecs("security-group")}
	f.groups[g.id] = g
	return xCreateSecurityGroup{head: h, Return: true, GroupID: g.id, Tags: xTags(g.tags)}, g.id + " " + name, nil
}

// DescribeSecurityGroups by ID: StepSecurityGroup waits for its new group
// to be described (waitUntilSecurityGroupExists in step_security_group.go:
// success when there is a group, retry on InvalidGroup.NotFound).
func (f *Fake) describeSecurityGroups(p params) (any, string, error) {
	if err := p.only("GroupId"); err != nil {
		return nil, "", err
	}
	out := xDescribeSecurityGroups{head: h}
	ids := p.list("GroupId")
	for _, id := range ids {
		g, ok := f.groups[id]
		if !ok {
			return nil, id, errorf("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
		}
		out.Groups = append(out.Groups, xGroup{OwnerID: Account, GroupID: g.id, GroupName: g.name,
			Description: g.description, VpcID: g.vpcID, Tags: xTags(g.tags)})
	}
	if len(ids) == 0 {
		return nil, "", errorf(Unsupported, "the fake describes security groups by GroupId only")
	}
	return out, strings.Join(ids, ", "), nil
}

// AuthorizeSecurityGroupIngress: StepSecurityGroup opens the
// communicator's port (the WinRM port) from temporary_security_group_source_cidrs
// (step_security_group.go).
func (f *Fake) authorizeIngress(p params) (any, string, error) {
	if err := p.only("GroupId", "IpPermissions"); err != nil {
		return nil, "", err
	}
	g, ok := f.groups[p.get("GroupId")]
	if !ok {
		return nil, p.get("GroupId"), errorf("InvalidGroup.NotFound", "The security group '%s' does not exist", p.get("GroupId"))
	}
	var rules []string
	for i := 1; i <= p.count("IpPermissions"); i++ {
		prefix := fmt.Sprintf("IpPermissions.%d.", i)
		for j := 1; j <= p.count(prefix+"IpRanges"); j++ {
			rules = append(rules, fmt.Sprintf("%s %s-%s %s", p.get(prefix+"IpProtocol"), p.get(prefix+"FromPort"),
				p.get(prefix+"ToPort"), p.get(fmt.Sprintf("%sIpRanges.%d.CidrIp", prefix, j))))
		}
	}
	g.ingress = append(g.ingress, rules...)
	return xReturn{head: h, Return: true}, g.id + " " + strings.Join(rules, ", "), nil
}

// DeleteSecurityGroup: StepSecurityGroup's Cleanup, after the instance is
// terminated (the steps clean up in reverse). API reference,
// DeleteSecurityGroup: a group "associated with an instance" fails with
// DependencyViolation; a terminated instance has no network interface left.
func (f *Fake) deleteSecurityGroup(p params) (any, string, error) {
	if err := p.only("GroupId"); err != nil {
		return nil, "", err
	}
	id := p.get("GroupId")
	if _, ok := f.groups[id]; !ok {
		return nil, id, errorf("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
	}
	for _, in := range f.instances {
		if in.state != Terminated && slices.Contains(in.groups, id) {
			return nil, id, errorf("DependencyViolation", "resource %s has a dependent object", id)
		}
	}
	delete(f.groups, id)
	return xDeleteSecurityGroup{head: h, Return: true, GroupID: id}, id, nil
}

// RunInstances: StepRunSourceInstance (builder/common/step_run_source_instance.go)
// launches one instance of the source AMI with the temporary key pair and
// security group and InstanceInitiatedShutdownBehavior from
// shutdown_behavior (default "stop": run_config.go). API reference,
// RunInstances: the instances come back "pending"; without a subnet the
// instance goes to a default subnet of the default VPC; the root volume is
// made from the AMI's root device mapping (deleteOnTermination as there).
// aws-sdk-go fills ClientToken itself (idempotencyToken in api.go).
func (f *Fake) runInstances(p params) (any, string, error) {
	if err := p.only("ImageId", "InstanceType", "MinCount", "MaxCount", "KeyName", "SecurityGroupId", "SubnetId",
		"UserData", "Placement", "IamInstanceProfile", "EbsOptimized", "EnclaveOptions", "CreditSpecification",
		"InstanceInitiatedShutdownBehavior", "TagSpecification", "ClientToken", "BlockDeviceMapping",
		"CapacityReservationSpecification", "MetadataOptions"); err != nil {
		return nil, "", err
	}
	// The plugin always sends a capacity reservation preference (default
	// "none") and, with http_endpoint "enabled" (the default), the
	// instance's metadata options (step_run_source_instance.go). Neither
	// changes what the build sees of the fake (it serves no instance
	// metadata); a reservation target would.
	if p.count("CapacityReservationSpecification.CapacityReservationTarget") > 0 ||
		p.get("CapacityReservationSpecification.CapacityReservationTarget.CapacityReservationId") != "" ||
		p.get("CapacityReservationSpecification.CapacityReservationTarget.CapacityReservationResourceGroupArn") != "" {
		return nil, "", errorf(Unsupported, "the fake does not model capacity reservations")
	}
	if p.get("MinCount") != "1" || p.get("MaxCount") != "1" {
		return nil, "", errorf(Unsupported, "the fake launches one instance at a time, not MinCount=%s MaxCount=%s", p.get("MinCount"), p.get("MaxCount"))
	}
	if p.count("BlockDeviceMapping") > 0 {
		return nil, "", errorf(Unsupported, "the fake does not model launch_block_device_mappings")
	}
	if name := p.get("IamInstanceProfile.Name"); name != "" {
		return nil, "", errorf(Unsupported, "the fake does not model IAM instance profiles (%s)", name)
	}
	im, ok := f.images[p.get("ImageId")]
	if !ok || im.state != "available" {
		return nil, p.get("ImageId"), errorf("InvalidAMIID.NotFound", "The image id '[%s]' does not exist", p.get("ImageId"))
	}
	key := p.get("KeyName")
	if _, ok := f.keyPairs[key]; key != "" && !ok {
		return nil, key, errorf("InvalidKeyPair.NotFound", "The key pair '%s' does not exist", key)
	}
	groups := p.list("SecurityGroupId")
	for _, g := range groups {
		if _, ok := f.groups[g]; !ok {
			return nil, g, errorf("InvalidGroup.NotFound", "The security group '%s' does not exist", g)
		}
	}
	if s := p.get("SubnetId"); s != "" && s != defaultSubnet {
		return nil, s, errorf("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", s)
	}
	if az := p.get("Placement.AvailabilityZone"); az != "" && az != AvailabilityZone {
		return nil, az, errorf("InvalidParameterValue", "Invalid availability zone: [%s]", az)
	}
	// API reference, RunInstances, InstanceInitiatedShutdownBehavior:
	// "stop" | "terminate", default "stop".
	behavior := p.get("InstanceInitiatedShutdownBehavior")
	if behavior == "" {
		behavior = "stop"
	}
	if behavior != "stop" && behavior != "terminate" {
		return nil, behavior, errorf("InvalidParameterValue", "Value (%s) for parameter instanceInitiatedShutdownBehavior is invalid", behavior)
	}
	now := time.Now()
	vol := &volume{id: f.newID("vol"), snapshotID: im.snapshotID, device: im.rootDevice, size: im.volumeSize,
		deleteOnTermination: true, created: now, tags: p.tagSpecs("volume")}
	in := &instance{id: f.newID("i"), imageID: im.id, instanceType: p.get("InstanceType"), keyName: key, groups: groups,
		shutdownBehavior: behavior, launched: now, rootDevice: im.rootDevice, volumeID: vol.id, platform: im.platform,
		tags: p.tagSpecs("instance")}
	vol.instanceID = in.id
	f.volumes[vol.id] = vol
	in.set(Pending, Running)
	f.instances[in.id] = in
	f.instIDs = append(f.instIDs, in.id)
	r := f.reservation(in)
	return xReservation{head: h, xReservationItem: r},
		in.id + ": " + in.state + ", shutdown behavior " + behavior, nil
}

// reservation is an instance as Describe and Run show it, with the state
// it has now: in the default VPC and subnet, at Address (see the package
// comment), with the private DNS name EC2 gives an instance in this region
// (user guide, "EC2 instance hostname types": ip-<private IPv4 with
// dashes>.<region>.compute.internal) and no public DNS name.
func (f *Fake) reservation(in *instance) xReservationItem {
	x := xInstance{InstanceID: in.id, ImageID: in.imageID, State: stateOf(in.state), PrivateDNSName: "ip-127-0-0-1." + Region + ".compute.internal",
		Reason: in.reason, KeyName: in.keyName, InstanceType: in.instanceType, LaunchTime: in.launched.UTC().Format("2006-01-02T15:04:05.000Z"),
		AvailabilityZone: AvailabilityZone, Platform: in.platform, SubnetID: defaultSubnet, VpcID: defaultVPC,
		PrivateIP: Address, PublicIP: Address, StateReason: in.stateReason, Architecture: "x86_64", RootDeviceType: "ebs",
		RootDeviceName: in.rootDevice, VirtualizationType: "hvm", Hypervisor: "xen", Tags: xTags(in.tags)}
	for _, g := range in.groups {
		if gr, ok := f.groups[g]; ok {
			x.Groups = append(x.Groups, xGroupRef{GroupID: g, GroupName: gr.name})
		}
	}
	if v, ok := f.volumes[in.volumeID]; ok {
		d := xInstanceDevice{DeviceName: v.device}
		d.Ebs.VolumeID, d.Ebs.Status, d.Ebs.AttachTime, d.Ebs.DeleteOnTermination = v.id, "attached", x.LaunchTime, v.deleteOnTermination
		x.BlockDevices = []xInstanceDevice{d}
	}
	return xReservationItem{ReservationID: "r-" + strings.TrimPrefix(in.id, "i-"), OwnerID: Account, Instances: []xInstance{x}}
}

// DescribeInstances by ID: the waiters of state.go (aws-sdk-go v1.45.6,
// service/ec2/waiters.go): WaitUntilInstanceRunning (success: all
// "running"; failure: any "shutting-down", "terminated" or "stopping";
// retry on InvalidInstanceID.NotFound), WaitUntilInstanceStopped
// (success: all "stopped"; failure: any "pending" or "terminated"),
// WaitUntilInstanceTerminated (success: all "terminated"; failure: any
// "pending" or "stopping"); and the instance itself after the launch
// (step_run_source_instance.go). An unknown ID is InvalidInstanceID.NotFound
// (error codes).
func (f *Fake) describeInstances(p params) (any, string, error) {
	if err := p.only("InstanceId"); err != nil {
		return nil, "", err
	}
	ids := p.list("InstanceId")
	if len(ids) == 0 {
		ids = f.instIDs
	}
	out := xDescribeInstances{head: h}
	var shown []string
	for _, id := range ids {
		in, ok := f.instances[id]
		if !ok {
			return nil, id, errorf("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
		}
		r := f.reservation(in)
		in.described() // r holds the state shown; the instance moves on
		shown = append(shown, id+": "+r.Instances[0].State.Name)
		out.Reservations = append(out.Reservations, r)
	}
	return out, strings.Join(shown, ", "), nil
}

// StopInstances: StepStopEBSBackedInstance stops the instance unless
// disable_stop_instance is set (builder/common/step_stop_ebs_instance.go).
// API reference, StopInstances: the instance goes stopping, then stopped;
// its state reason is Client.UserInitiatedShutdown (API reference,
// StateReason: "The instance was shut down using the Amazon EC2 API").
// An instance already stopping or stopped (the guest powered itself off
// first) stays as it is and the call answers with its state; any other
// state is IncorrectInstanceState (error codes).
func (f *Fake) stopInstances(p params) (any, string, error) {
	if err := p.only("InstanceId", "Force"); err != nil {
		return nil, "", err
	}
	return f.changeStates(p.list("InstanceId"), func(in *instance) error {
		switch in.state {
		case Running:
			in.stateReason = userShutdown()
			in.set(Stopping, Stopped)
		case Stopping, Stopped:
		default:
			return errorf("IncorrectInstanceState", "The instance '%s' is not in a state from which it can be stopped.", in.id)
		}
		return nil
	})
}

// TerminateInstances: StepRunSourceInstance's Cleanup, then it waits for
// "terminated" (step_run_source_instance.go). API reference,
// TerminateInstances: idempotent ("if you terminate an instance more than
// once, each call succeeds"); the instance goes shutting-down, then
// terminated, and stays visible for about an hour; "by default, Amazon EC2
// deletes all EBS volumes that were attached when the instance launched"
// (its root volume's deleteOnTermination).
func (f *Fake) terminateInstances(p params) (any, string, error) {
	if err := p.only("InstanceId"); err != nil {
		return nil, "", err
	}
	return f.changeStates(p.list("InstanceId"), func(in *instance) error {
		if in.state != Terminated && in.state != ShuttingDown {
			in.stateReason = userShutdown()
			f.terminate(in)
		}
		return nil
	})
}

// changeStates applies change to each instance of ids and answers with
// the state changes EC2 reports for StopInstances and TerminateInstances
// (API reference, InstanceStateChange): each instance's previous and
// current state. An unknown id is InvalidInstanceID.NotFound.
func (f *Fake) changeStates(ids []string, change func(*instance) error) (any, string, error) {
	out := xStateChanges{head: h}
	var shown []string
	for _, id := range ids {
		in, ok := f.instances[id]
		if !ok {
			return nil, id, errorf("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
		}
		prev := in.state
		if err := change(in); err != nil {
			return nil, id, err
		}
		out.Changes = append(out.Changes, xStateChange{InstanceID: id, CurrentState: stateOf(in.state), PreviousState: stateOf(prev)})
		shown = append(shown, id+": "+prev+" -> "+in.state)
	}
	return out, strings.Join(shown, ", "), nil
}

// userShutdown is the state reason of an instance stopped or terminated
// through the API (API reference, StateReason: "The instance was shut down
// using the Amazon EC2 API").
func userShutdown() *xStateReason {
	return &xStateReason{Code: "Client.UserInitiatedShutdown",
		Message: "Client.UserInitiatedShutdown: The instance was shut down using the Amazon EC2 API."}
}

// terminate: shutting-down, then terminated; the volumes that are deleted
// on termination go.
func (f *Fake) terminate(in *instance) {
	in.set(ShuttingDown, Terminated)
	if v, ok := f.volumes[in.volumeID]; ok && v.deleteOnTermination {
		delete(f.volumes, v.id)
	}
}

// CreateImage: stepCreateAMI (builder/ebs/step_create_ami.go), after the
// stop step, from the instance in the state bag, named ami_name. API
// reference, CreateImage: "Creates an Amazon EBS-backed AMI from an Amazon
// EBS-backed instance that is either running or stopped"; the AMI is
// "pending" until it is "available" (API reference, Image, imageState).
// The plugin retries InvalidParameterValue "Instance is not in state"
// (step_create_ami.go): that is the refusal of an instance in another
// state. A name taken in the account is InvalidAMIName.Duplicate (error
// codes).
func (f *Fake) createImage(p params) (any, string, error) {
	if err := p.only("InstanceId", "Name", "Description", "NoReboot", "TagSpecification", "BlockDeviceMapping"); err != nil {
		return nil, "", err
	}
	if p.count("BlockDeviceMapping") > 0 {
		return nil, "", errorf(Unsupported, "the fake does not model ami_block_device_mappings")
	}
	id, name := p.get("InstanceId"), p.get("Name")
	in, ok := f.instances[id]
	if !ok {
		return nil, id, errorf("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
	}
	if in.state != Running && in.state != Stopped {
		return nil, id + ": " + in.state, errorf("InvalidParameterValue", "Instance is not in state 'running' or 'stopped' (%s is %s)", id, in.state)
	}
	for _, other := range f.images {
		if other.name == name && other.ownerID == Account && other.state != "deregistered" {
			return nil, name, errorf("InvalidAMIName.Duplicate", "AMI name %s is already in use by AMI %s", name, other.id)
		}
	}
	v := f.volumes[in.volumeID]
	snap := &snapshot{id: f.newID("snap"), volumeID: in.volumeID, size: v.size, tags: p.tagSpecs("snapshot")}
	f.snapshots[snap.id] = snap
	source := f.images[in.imageID]
	im := &image{id: f.newID("ami"), name: name, description: p.get("Description"), ownerID: Account,
		platform: source.platform, platformDetails: source.platformDetails, state: "pending", next: []string{"available"},
		rootDevice: in.rootDevice, snapshotID: snap.id, volumeSize: v.size, created: time.Now(), tags: p.tagSpecs("image"),
		made: true, instanceID: id, instanceState: in.state, noReboot: p.boolean("NoReboot")}
	f.images[im.id] = im
	f.imageIDs = append(f.imageIDs, im.id)
	return xCreateImage{head: h, ImageID: im.id}, fmt.Sprintf("%s from %s, %s", im.id, id, in.state), nil
}

// CreateTags: StepCreateTags tags the AMI and its snapshots with `tags`
// (builder/common/step_create_tags.go; it retries InvalidAMIID.NotFound and
// InvalidSnapshot.NotFound). API reference, CreateTags: ResourceId.N and
// Tag.N; a tag with a key the resource has replaces it.
func (f *Fake) createTags(p params) (any, string, error) {
	if err := p.only("ResourceId", "Tag"); err != nil {
		return nil, "", err
	}
	ids, tags := p.list("ResourceId"), p.tags("Tag")
	for _, id := range ids {
		var m map[string]string
		switch prefix, _, _ := strings.Cut(id, "-"); prefix {
		case "ami":
			if im, ok := f.images[id]; ok && im.state != "deregistered" {
				m = im.tags
			}
		case "i":
			if in, ok := f.instances[id]; ok {
				m = in.tags
			}
		case "snap":
			if s, ok := f.snapshots[id]; ok {
				m = s.tags
			}
		case "vol":
			if v, ok := f.volumes[id]; ok {
				m = v.tags
			}
		case "sg":
			if g, ok := f.groups[id]; ok {
				m = g.tags
			}
		default:
			return nil, id, errorf(Unsupported, "the fake does not tag %s", id)
		}
		if m == nil {
			code := map[string]string{"ami": "InvalidAMIID.NotFound", "i": "InvalidInstanceID.NotFound",
				"snap": "InvalidSnapshot.NotFound", "vol": "InvalidVolume.NotFound", "sg": "InvalidGroup.NotFound"}
			prefix, _, _ := strings.Cut(id, "-")
			return nil, id, errorf(code[prefix], "The ID '%s' does not exist", id)
		}
		for k, v := range tags {
			m[k] = v
		}
	}
	var kv []string
	for _, k := range sortedKeys(tags) {
		kv = append(kv, k+"="+tags[k])
	}
	return xReturn{head: h, Return: true}, strings.Join(ids, ", ") + ": " + strings.Join(kv, ", "), nil
}

// DescribeVolumes: StepCleanupVolumes' Cleanup, after the instance's,
// looks for the instance's volumes left over (filter volume-id;
// builder/common/step_cleanup_volumes.go). API reference, DescribeVolumes:
// status "in-use" while attached, "available" when not; a deleted volume
// is not described.
func (f *Fake) describeVolumes(p params) (any, string, error) {
	if err := p.only("VolumeId", "Filter"); err != nil {
		return nil, "", err
	}
	ids := p.list("VolumeId")
	for _, id := range ids {
		if _, ok := f.volumes[id]; !ok {
			return nil, id, errorf("InvalidVolume.NotFound", "The volume '%s' does not exist.", id)
		}
	}
	out := xDescribeVolumes{head: h}
	var shown []string
	for _, id := range sortedKeys(f.volumes) {
		v := f.volumes[id]
		if len(ids) > 0 && !slices.Contains(ids, id) {
			continue
		}
		status := "available"
		if v.instanceID != "" {
			status = "in-use"
		}
		match := true
		for _, fl := range p.filters() {
			switch fl.name {
			case "volume-id":
				match = match && fl.matches(v.id)
			case "attachment.instance-id":
				match = match && fl.matches(v.instanceID)
			case "status":
				match = match && fl.matches(status)
			default:
				return nil, "", errorf(Unsupported, "the fake does not model the DescribeVolumes filter %q", fl.name)
			}
		}
		if !match {
			continue
		}
		x := xVolume{VolumeID: v.id, Size: v.size, SnapshotID: v.snapshotID, AvailabilityZone: AvailabilityZone, Status: status,
			CreateTime: v.created.UTC().Format("2006-01-02T15:04:05.000Z"), VolumeType: "gp2", Tags: xTags(v.tags)}
		if v.instanceID != "" {
			x.Attachments = append(x.Attachments, struct {
				VolumeID            string `xml:"volumeId"`
				InstanceID          string `xml:"instanceId"`
				Device              string `xml:"device"`
				Status              string `xml:"status"`
				DeleteOnTermination bool   `xml:"deleteOnTermination"`
			}{v.id, v.instanceID, v.device, "attached", v.deleteOnTermination})
		}
		out.Volumes = append(out.Volumes, x)
		shown = append(shown, v.id+": "+status)
	}
	if len(shown) == 0 {
		shown = []string{"none"}
	}
	return out, strings.Join(shown, ", "), nil
}

// DeregisterImage: stepCreateAMI's Cleanup after a failure or a cancel
// (step_create_ami.go). API reference, DeregisterImage: the AMI can no
// longer launch instances and is not described; its snapshots stay.
func (f *Fake) deregisterImage(p params) (any, string, error) {
	if err := p.only("ImageId"); err != nil {
		return nil, "", err
	}
	id := p.get("ImageId")
	im, ok := f.images[id]
	if !ok || im.state == "deregistered" {
		return nil, id, errorf("InvalidAMIID.NotFound", "The image id '[%s]' does not exist", id)
	}
	im.state, im.next = "deregistered", nil
	return xReturn{head: h, Return: true}, id, nil
}

// DeleteSnapshot: stepCreateAMI's Cleanup, after DeregisterImage. Error
// codes: InvalidSnapshot.InUse for the snapshot of a registered AMI,
// InvalidSnapshot.NotFound.
func (f *Fake) deleteSnapshot(p params) (any, string, error) {
	if err := p.only("SnapshotId"); err != nil {
		return nil, "", err
	}
	id := p.get("SnapshotId")
	if _, ok := f.snapshots[id]; !ok {
		return nil, id, errorf("InvalidSnapshot.NotFound", "The snapshot '%s' does not exist.", id)
	}
	for _, im := range f.images {
		if im.snapshotID == id && im.state != "deregistered" {
			return nil, id, errorf("InvalidSnapshot.InUse", "The snapshot %s is currently in use by %s", id, im.id)
		}
	}
	delete(f.snapshots, id)
	return xReturn{head: h, Return: true}, id, nil
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
