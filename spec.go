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
}

// specPath is the field path every claim error starts with.
var specPath = field.NewPath("spec")

// ParseSpec reads the fields this function knows from an XR's spec, as the
// request holds them. Only those fields are converted to Go values: the ones
// it does not know, such as the references Crossplane adds, are ignored. A
// field of the wrong type is an error naming its path. A list or map longer
// than any valid claim's is refused before its items are read, so that no
// claim makes the function work, or report errors, in proportion to its size.
func ParseSpec(spec map[string]*structpb.Value) (RawSpec, field.ErrorList) {
	p := parser{m: spec}
	s := RawSpec{
		AliasName:            p.str("aliasName"),
		Description:          p.str("description"),
		DeletionWindowInDays: p.integer("deletionWindowInDays"),
		EnableKeyRotation:    p.boolean("enableKeyRotation"),
		AdminUsers:           p.strings("adminUsers"),
		StandardUsers:        p.strings("standardUsers"),
		Region:               p.str("region"),
		RotationPeriodInDays: p.integer("rotationPeriodInDays"),
		Tags:                 p.stringMap("tags"),
		ProviderConfigName:   p.str("providerConfigName"),
		DeletionPolicy:       p.str("deletionPolicy"),
	}
	return s, p.errs
}

// parser collects type errors while it reads fields of one object.
type parser struct {
	m    map[string]*structpb.Value
	errs field.ErrorList
}

// value returns the field's value, treating an explicit null as unset.
func (p *parser) value(name string) (*structpb.Value, bool) {
	v := p.m[name]
	switch v.GetKind().(type) {
	case nil, *structpb.Value_NullValue:
		return nil, false
	}
	return v, true
}

// get returns the field's value as a Go value.
func (p *parser) get(name string) (any, bool) {
	v, ok := p.value(name)
	return v.AsInterface(), ok
}

func (p *parser) typeErr(path *field.Path, v any, want string) {
	p.errs = append(p.errs, field.TypeInvalid(path, summarize(v), "must be "+want))
}

func (p *parser) str(name string) *string { return scalar[string](p, name, "a string") }

func (p *parser) boolean(name string) *bool { return scalar[bool](p, name, "a boolean") }

// scalar reads a field whose decoded JSON value must be of type T.
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

func (p *parser) integer(name string) *int64 {
	v, ok := p.get(name)
	if !ok {
		return nil
	}
	i, ok := asInt(v)
	if !ok {
		p.typeErr(specPath.Child(name), v, "an integer")
		return nil
	}
	return &i
}

// strings and stringMap read their items from the request's Struct rather
// than from AsInterface's copy: converting every ARN to an interface only to
// convert it back costs two allocations per ARN.

func (p *parser) strings(name string) []string {
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
	if len(l.GetValues()) > maxPrincipals {
		p.errs = append(p.errs, tooManyPrincipals(path, len(l.GetValues())))
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

// asInt accepts the integral numbers JSON decoding produces: float64s
// without a fraction, in the range of int64.
func asInt(v any) (int64, bool) {
	n, ok := v.(float64)
	if !ok || n != math.Trunc(n) || n < math.MinInt64 || n >= math.MaxInt64 {
		return 0, false
	}
	return int64(n), true
}

// summarize keeps error messages short whatever a claim holds: the value of
// a wrong-typed field is shown only when it is a scalar.
func summarize(v any) any {
	switch t := v.(type) {
	case string:
		return truncate(t)
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
