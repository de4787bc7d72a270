package ec2fake

// The answers' XML. Element names are the locationName of each member in
// aws-sdk-go v1.45.6's EC2 model (service/ec2/api.go), which is what its
// ec2query protocol reads (private/protocol/ec2query/unmarshal.go); a list
// is a wrapper element with one <item> per member. Only the members the
// plugin reads, or a person reading an answer would miss, are here.

const requestID = "0fa4e000-ec2f-4a4e-8000-000000000000"

// head is the requestId every answer carries.
type head struct {
	RequestID string `xml:"requestId"`
}

var h = head{RequestID: requestID}

type xReturn struct {
	head
	Return bool `xml:"return"`
}

type xTag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

func xTags(m map[string]string) []xTag {
	var out []xTag
	for _, k := range sortedKeys(m) {
		out = append(out, xTag{Key: k, Value: m[k]})
	}
	return out
}

// DescribeRegions: DescribeRegionsOutput.Regions "regionInfo"; Region.
type xDescribeRegions struct {
	head
	Regions []xRegion `xml:"regionInfo>item"`
}

type xRegion struct {
	Name        string `xml:"regionName"`
	Endpoint    string `xml:"regionEndpoint"`
	OptInStatus string `xml:"optInStatus"`
}

// DescribeImages: DescribeImagesOutput.Images "imagesSet"; Image.
type xDescribeImages struct {
	head
	Images []xImage `xml:"imagesSet>item"`
}

type xImage struct {
	ID                 string         `xml:"imageId"`
	State              string         `xml:"imageState"`
	OwnerID            string         `xml:"imageOwnerId"`
	OwnerAlias         string         `xml:"imageOwnerAlias,omitempty"`
	CreationDate       string         `xml:"creationDate"`
	Public             bool           `xml:"isPublic"`
	Architecture       string         `xml:"architecture"`
	ImageType          string         `xml:"imageType"`
	Platform           string         `xml:"platform,omitempty"`
	PlatformDetails    string         `xml:"platformDetails"`
	Name               string         `xml:"name"`
	Description        string         `xml:"description,omitempty"`
	RootDeviceType     string         `xml:"rootDeviceType"`
	RootDeviceName     string         `xml:"rootDeviceName"`
	BlockDevices       []xImageDevice `xml:"blockDeviceMapping>item"`
	VirtualizationType string         `xml:"virtualizationType"`
	Hypervisor         string         `xml:"hypervisor"`
	EnaSupport         bool           `xml:"enaSupport"`
	Tags               []xTag         `xml:"tagSet>item"`
}

// BlockDeviceMapping and EbsBlockDevice.
type xImageDevice struct {
	DeviceName string `xml:"deviceName"`
	Ebs        struct {
		SnapshotID          string `xml:"snapshotId"`
		VolumeSize          int    `xml:"volumeSize"`
		DeleteOnTermination bool   `xml:"deleteOnTermination"`
		VolumeType          string `xml:"volumeType"`
		Encrypted           bool   `xml:"encrypted"`
	} `xml:"ebs"`
}

// CreateKeyPair: CreateKeyPairOutput.
type xCreateKeyPair struct {
	head
	KeyName     string `xml:"keyName"`
	Fingerprint string `xml:"keyFingerprint"`
	Material    string `xml:"keyMaterial"`
	KeyPairID   string `xml:"keyPairId"`
	Tags        []xTag `xml:"tagSet>item"`
}

// DeleteKeyPair: DeleteKeyPairOutput.
type xDeleteKeyPair struct {
	head
	Return    bool   `xml:"return"`
	KeyPairID string `xml:"keyPairId,omitempty"`
}

// CreateSecurityGroup: CreateSecurityGroupOutput.
type xCreateSecurityGroup struct {
	head
	Return  bool   `xml:"return"`
	GroupID string `xml:"groupId"`
	Tags    []xTag `xml:"tagSet>item"`
}

// DescribeSecurityGroups: DescribeSecurityGroupsOutput.SecurityGroups
// "securityGroupInfo"; SecurityGroup.
type xDescribeSecurityGroups struct {
	head
	Groups []xGroup `xml:"securityGroupInfo>item"`
}

type xGroup struct {
	OwnerID     string `xml:"ownerId"`
	GroupID     string `xml:"groupId"`
	GroupName   string `xml:"groupName"`
	Description string `xml:"groupDescription"`
	VpcID       string `xml:"vpcId"`
	Tags        []xTag `xml:"tagSet>item"`
}

// DeleteSecurityGroup: DeleteSecurityGroupOutput (return, groupId: API
// reference, DeleteSecurityGroup).
type xDeleteSecurityGroup struct {
	head
	Return  bool   `xml:"return"`
	GroupID string `xml:"groupId"`
}

// RunInstances: Reservation, the same fields as an item of
// DescribeInstances' reservationSet.
type xReservation struct {
	head
	xReservationItem
}

// DescribeInstances: DescribeInstancesOutput.Reservations "reservationSet".
type xDescribeInstances struct {
	head
	Reservations []xReservationItem `xml:"reservationSet>item"`
}

type xReservationItem struct {
	ReservationID string      `xml:"reservationId"`
	OwnerID       string      `xml:"ownerId"`
	Groups        []xGroupRef `xml:"groupSet>item"`
	Instances     []xInstance `xml:"instancesSet>item"`
}

type xGroupRef struct {
	GroupID   string `xml:"groupId"`
	GroupName string `xml:"groupName"`
}

type xState struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

func stateOf(name string) xState { return xState{Code: stateCodes[name], Name: name} }

type xStateReason struct {
	Code    string `xml:"code"`
	Message string `xml:"message"`
}

// Instance.
type xInstance struct {
	InstanceID         string            `xml:"instanceId"`
	ImageID            string            `xml:"imageId"`
	State              xState            `xml:"instanceState"`
	PrivateDNSName     string            `xml:"privateDnsName"`
	DNSName            string            `xml:"dnsName"`
	Reason             string            `xml:"reason"`
	KeyName            string            `xml:"keyName,omitempty"`
	AmiLaunchIndex     int               `xml:"amiLaunchIndex"`
	InstanceType       string            `xml:"instanceType"`
	LaunchTime         string            `xml:"launchTime"`
	AvailabilityZone   string            `xml:"placement>availabilityZone"`
	Platform           string            `xml:"platform,omitempty"`
	SubnetID           string            `xml:"subnetId"`
	VpcID              string            `xml:"vpcId"`
	PrivateIP          string            `xml:"privateIpAddress"`
	PublicIP           string            `xml:"ipAddress"`
	Groups             []xGroupRef       `xml:"groupSet>item"`
	StateReason        *xStateReason     `xml:"stateReason,omitempty"`
	Architecture       string            `xml:"architecture"`
	RootDeviceType     string            `xml:"rootDeviceType"`
	RootDeviceName     string            `xml:"rootDeviceName"`
	BlockDevices       []xInstanceDevice `xml:"blockDeviceMapping>item"`
	VirtualizationType string            `xml:"virtualizationType"`
	Hypervisor         string            `xml:"hypervisor"`
	Tags               []xTag            `xml:"tagSet>item"`
}

// InstanceBlockDeviceMapping and EbsInstanceBlockDevice.
type xInstanceDevice struct {
	DeviceName string `xml:"deviceName"`
	Ebs        struct {
		VolumeID            string `xml:"volumeId"`
		Status              string `xml:"status"`
		AttachTime          string `xml:"attachTime"`
		DeleteOnTermination bool   `xml:"deleteOnTermination"`
	} `xml:"ebs"`
}

// StopInstances and TerminateInstances: StopInstancesOutput.StoppingInstances,
// TerminateInstancesOutput.TerminatingInstances, both "instancesSet" of
// InstanceStateChange.
type xStateChanges struct {
	head
	Changes []xStateChange `xml:"instancesSet>item"`
}

type xStateChange struct {
	InstanceID    string `xml:"instanceId"`
	CurrentState  xState `xml:"currentState"`
	PreviousState xState `xml:"previousState"`
}

// CreateImage: CreateImageOutput.
type xCreateImage struct {
	head
	ImageID string `xml:"imageId"`
}

// DescribeVolumes: DescribeVolumesOutput.Volumes "volumeSet"; Volume.
type xDescribeVolumes struct {
	head
	Volumes []xVolume `xml:"volumeSet>item"`
}

type xVolume struct {
	VolumeID         string `xml:"volumeId"`
	Size             int    `xml:"size"`
	SnapshotID       string `xml:"snapshotId"`
	AvailabilityZone string `xml:"availabilityZone"`
	Status           string `xml:"status"`
	CreateTime       string `xml:"createTime"`
	Attachments      []struct {
		VolumeID            string `xml:"volumeId"`
		InstanceID          string `xml:"instanceId"`
		Device              string `xml:"device"`
		Status              string `xml:"status"`
		DeleteOnTermination bool   `xml:"deleteOnTermination"`
	} `xml:"attachmentSet>item"`
	VolumeType string `xml:"volumeType"`
	Encrypted  bool   `xml:"encrypted"`
	Tags       []xTag `xml:"tagSet>item"`
}
