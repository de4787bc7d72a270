package ec2fake

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// params are a request's parameters as aws-sdk-go's ec2query protocol
// sends them (private/protocol/ec2query/build.go, with the locationName of
// each member in service/ec2/api.go, its first letter upper case): a scalar
// as Name=value, a list as Name.1, Name.2, ..., a structure's members as
// Name.Member, so a filter is Filter.1.Name and Filter.1.Value.1.
type params url.Values

func (p params) get(name string) string { return url.Values(p).Get(name) }

// list is the values of name.1, name.2, ... in order.
func (p params) list(name string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := p[fmt.Sprintf("%s.%d", name, i)]
		if !ok {
			return out
		}
		out = append(out, v[0])
	}
}

// count is how many structures name.1, name.2, ... the request has.
func (p params) count(name string) int {
	n := 0
	for key := range p {
		rest, ok := strings.CutPrefix(key, name+".")
		if !ok {
			continue
		}
		i, err := strconv.Atoi(strings.SplitN(rest, ".", 2)[0])
		if err == nil && i > n {
			n = i
		}
	}
	return n
}

func (p params) boolean(name string) bool { return p.get(name) == "true" }

// only refuses a request with a parameter whose top-level name is not
// among names (Action and Version are every request's): the fake answers
// only what it models.
func (p params) only(names ...string) error {
	var unknown []string
	for key := range p {
		top := strings.SplitN(key, ".", 2)[0]
		if top != "Action" && top != "Version" && !slices.Contains(names, top) {
			unknown = append(unknown, key+"="+p.get(key))
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return errorf(Unsupported, "the fake does not model the parameters %s", strings.Join(unknown, ", "))
	}
	return nil
}

// filter is one Filter.N of a Describe call (API reference, Filter: a name
// and one or more values; a resource matches a filter when it matches any
// of its values, and all the filters).
type filter struct {
	name   string
	values []string
}

func (p params) filters() []filter {
	var out []filter
	for i := 1; i <= p.count("Filter"); i++ {
		prefix := fmt.Sprintf("Filter.%d", i)
		out = append(out, filter{name: p.get(prefix + ".Name"), values: p.list(prefix + ".Value")})
	}
	return out
}

// matches: the value matches one of the filter's values, which may hold
// the wildcards * (any run of characters) and ? (one character) (API
// reference, DescribeImages: "You can use wildcards with the filter
// values").
func (fl filter) matches(value string) bool {
	for _, want := range fl.values {
		expr := regexp.QuoteMeta(want)
		expr = strings.ReplaceAll(expr, `\*`, ".*")
		expr = strings.ReplaceAll(expr, `\?`, ".")
		if regexp.MustCompile("^" + expr + "$").MatchString(value) {
			return true
		}
	}
	return false
}

// tagSpecs are the tags of a request's TagSpecification.N whose
// ResourceType is resourceType (API reference, TagSpecification).
func (p params) tagSpecs(resourceType string) map[string]string {
	tags := map[string]string{}
	for i := 1; i <= p.count("TagSpecification"); i++ {
		prefix := fmt.Sprintf("TagSpecification.%d", i)
		if p.get(prefix+".ResourceType") != resourceType {
			continue
		}
		for k, v := range p.tags(prefix + ".Tag") {
			tags[k] = v
		}
	}
	return tags
}

// tags are name.N.Key and name.N.Value.
func (p params) tags(name string) map[string]string {
	tags := map[string]string{}
	for i := 1; i <= p.count(name); i++ {
		prefix := fmt.Sprintf("%s.%d", name, i)
		tags[p.get(prefix+".Key")] = p.get(prefix + ".Value")
	}
	return tags
}
