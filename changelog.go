package main

import (
	"maps"
	"reflect"
	"slices"
	"strings"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/resource"
)

// ChangedFields returns the paths of the fields that a desired composed
// resource sets to values other than the observed resource's, in order.
// Only the fields the desired resource sets count: the observed one also
// holds what Crossplane and the provider add, such as late-initialized
// fields and the provider's own tags.
func ChangedFields(desired, observed map[string]any) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(desired)) {
		d, o := desired[k], observed[k]
		dm, dok := d.(map[string]any)
		om, ook := o.(map[string]any)
		switch {
		case dok && ook:
			for _, sub := range ChangedFields(dm, om) {
				out = append(out, k+"."+sub)
			}
		case !reflect.DeepEqual(d, o):
			out = append(out, k)
		}
	}
	return out
}

// composedChanges lists what the desired Key, Alias, replicas and their
// aliases change: a resource that does not exist yet, or the fields of one
// that differ from the observed resource.
func composedChanges(rsp *fnv1.RunFunctionResponse, ocds map[resource.Name]resource.ObservedComposed, b Backend) []string {
	var changes []string
	for _, r := range b.Regions() {
		key, alias := b.ResourceNames(r)
		for _, name := range [...]string{key, alias} {
			d, ok := rsp.GetDesired().GetResources()[name]
			if !ok {
				continue
			}
			o, ok := ocds[resource.Name(name)]
			if !ok {
				changes = append(changes, name+": new")
				continue
			}
			if changed := ChangedFields(d.GetResource().AsMap(), o.Resource.Object); len(changed) > 0 {
				changes = append(changes, name+": "+strings.Join(changed, ", "))
			}
		}
	}
	return changes
}
