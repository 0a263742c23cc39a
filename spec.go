package main

import (
	"maps"
	"math"
	"slices"
	"strings"

	"google.golang.org/protobuf/types/known/structpb"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// RawSpec is a KmsBackend's spec as the claim wrote it, with each field's
// type checked but no default applied and no rule checked: nil means unset.
type RawSpec struct {
	AliasName            *string
	Description          *string
	DeletionWindowInDays *int64
	EnableKeyRotation    *bool
	AdminUsers           []string
	StandardUsers        []string
	Region               *string
	RotationPeriodInDays *int64
	Tags                 map[string]string
	ProviderConfigName   *string
	DeletionPolicy       *string
	AllowedServices      []string
	ReplicaRegions       []string
	ExistingKeyID        *string
}

// ParseSpec reads the fields this function knows from an XR's spec, as the
// request holds it; the ones it does not know, such as the references
// Crossplane adds, are ignored. A field of the wrong type is an error naming
// its path. A list or map longer than any valid claim's is refused before
// its items are read, so that no claim makes the function report errors in
// proportion to its size.
//
// It reads the request's protobuf values rather than the map the SDK's
// request.GetObservedCompositeResource converts the whole XR to: that
// conversion is a large part of the function's own CPU (its figures are in
// docs/performance.md).
func ParseSpec(spec map[string]*structpb.Value) (RawSpec, field.ErrorList) {
	p := parser{m: spec}
	s := RawSpec{
		AliasName:            scalar[string](&p, "aliasName", "a string"),
		Description:          scalar[string](&p, "description", "a string"),
		DeletionWindowInDays: p.integer("deletionWindowInDays"),
		EnableKeyRotation:    scalar[bool](&p, "enableKeyRotation", "a boolean"),
		AdminUsers:           p.stringList("adminUsers", maxPrincipals, tooManyPrincipals),
		StandardUsers:        p.stringList("standardUsers", maxPrincipals, tooManyPrincipals),
		Region:               scalar[string](&p, "region", "a string"),
		RotationPeriodInDays: p.integer("rotationPeriodInDays"),
		Tags:                 p.stringMap("tags"),
		ProviderConfigName:   scalar[string](&p, "providerConfigName", "a string"),
		DeletionPolicy:       scalar[string](&p, "deletionPolicy", "a string"),
		AllowedServices:      p.stringList("allowedServices", maxAllowedServices, tooManyServices),
		ReplicaRegions:       p.stringList("replicaRegions", maxReplicaRegions, tooManyReplicaRegions),
		ExistingKeyID:        scalar[string](&p, "existingKeyId", "a string"),
	}
	return s, p.errs
}

// parser collects type errors while it reads the fields of a spec.
type parser struct {
	m    map[string]*structpb.Value
	errs field.ErrorList
}

// value returns a field's value; an explicit null is unset.
func (p *parser) value(name string) (*structpb.Value, bool) {
	v := p.m[name]
	switch v.GetKind().(type) {
	case nil, *structpb.Value_NullValue:
		return nil, false
	}
	return v, true
}

// get returns a field's value as a Go value, as JSON decoding gives it.
func (p *parser) get(name string) (any, bool) {
	v, ok := p.value(name)
	return v.AsInterface(), ok
}

func (p *parser) typeErr(path *field.Path, v any, want string) {
	p.errs = append(p.errs, field.TypeInvalid(path, summarize(v), "must be "+want))
}

// scalar reads a field whose value must be of type T.
func scalar[T any](p *parser, name, want string) *T {
	v, ok := p.get(name)
	if !ok {
		return nil
	}
	t, ok := v.(T)
	if !ok {
		p.typeErr(specPath.Child(name), v, want)
		return nil
	}
	return &t
}

// integer reads a field that must be an integral number: JSON decoding
// gives every number as a float64.
func (p *parser) integer(name string) *int64 {
	v, ok := p.get(name)
	if !ok {
		return nil
	}
	i, ok := integral(v)
	if !ok {
		p.typeErr(specPath.Child(name), v, "an integer")
		return nil
	}
	return &i
}

// integral accepts the integral numbers JSON decoding gives: float64s
// without a fraction, in the range of int64.
func integral(v any) (int64, bool) {
	n, ok := v.(float64)
	if !ok || n != math.Trunc(n) || n < math.MinInt64 || n >= math.MaxInt64 {
		return 0, false
	}
	return int64(n), true
}

// strings and stringMap read their items as protobuf values, so that no
// item is converted to a Go value unless it has the wrong type.

// strings reads a list of strings, refusing one of more than limit items
// with tooMany's error.
func (p *parser) stringList(name string, limit int, tooMany func(*field.Path, int) *field.Error) []string {
	v, ok := p.value(name)
	if !ok {
		return nil
	}
	path := specPath.Child(name)
	l := v.GetListValue()
	if l == nil {
		p.typeErr(path, v.AsInterface(), "a list of strings")
		return nil
	}
	if len(l.GetValues()) > limit {
		p.errs = append(p.errs, tooMany(path, len(l.GetValues())))
		return nil
	}
	out := make([]string, 0, len(l.GetValues()))
	for i, e := range l.GetValues() {
		s, ok := e.GetKind().(*structpb.Value_StringValue)
		if !ok {
			p.typeErr(path.Index(i), e.AsInterface(), "a string")
			continue
		}
		out = append(out, s.StringValue)
	}
	return out
}

func (p *parser) stringMap(name string) map[string]string {
	v, ok := p.value(name)
	if !ok {
		return nil
	}
	path := specPath.Child(name)
	m := v.GetStructValue()
	if m == nil {
		p.typeErr(path, v.AsInterface(), "a map of strings to strings")
		return nil
	}
	if len(m.GetFields()) > maxTags {
		p.errs = append(p.errs, tooManyTags(path, len(m.GetFields())))
		return nil
	}
	out := make(map[string]string, len(m.GetFields()))
	for _, k := range slices.Sorted(maps.Keys(m.GetFields())) {
		e := m.GetFields()[k]
		s, ok := e.GetKind().(*structpb.Value_StringValue)
		if !ok {
			p.typeErr(path.Key(k), e.AsInterface(), "a string")
			continue
		}
		out[k] = s.StringValue
	}
	return out
}

// summarize keeps error messages short whatever a claim holds: the value of
// a wrong-typed field is shown only when it is a scalar.
func summarize(v any) any {
	switch t := v.(type) {
	case string:
		return shown(t)
	case map[string]any:
		return "<object>"
	case []any:
		return "<list>"
	}
	return v
}

// withoutFieldsOf drops the errors about fields that already have a type
// error, at them or inside them: a claim with aliasName: 42 needs one
// message, not also "Required".
func withoutFieldsOf(errs, typeErrs field.ErrorList) field.ErrorList {
	if len(typeErrs) == 0 {
		return errs
	}
	out := make(field.ErrorList, 0, len(errs))
	for _, e := range errs {
		if !slices.ContainsFunc(typeErrs, func(t *field.Error) bool {
			return t.Field == e.Field || strings.HasPrefix(t.Field, e.Field+"[")
		}) {
			out = append(out, e)
		}
	}
	return out
}
