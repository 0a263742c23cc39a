package main

import (
	"maps"
	"reflect"
	"slices"
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
