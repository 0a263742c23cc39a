package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"sync"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"google.golang.org/protobuf/types/known/structpb"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	kjson "sigs.k8s.io/json"

	"github.com/example/function-kms-backend/input/v1beta1"
)

// maxInputs bounds the inputs the function remembers: one per Composition
// that calls it, so a few in any real cluster.
const maxInputs = 64

// inputs remembers what the function read from each input it was given.
// Every call of a Composition carries the same input, and decoding it cost a
// ninth of the function's own CPU for a typical claim (docs/performance.md),
// so each distinct input is decoded once. Calls share the settings it gives,
// maps and lists included, so nothing may change them. The zero value is
// ready to use.
type inputs struct {
	mu   sync.Mutex
	read map[string]readInput
}

// readInput is what reading one input gave: the settings, or the error that
// refuses it.
type readInput struct {
	settings Settings
	err      error
}

// settings returns the settings an input gives, decoding it only the first
// time the function sees it.
func (c *inputs) settings(in *structpb.Struct) (Settings, error) {
	if in == nil {
		return readSettings(nil)
	}
	var b strings.Builder
	writeJSONValue(&b, structpb.NewStructValue(in))
	key := b.String()

	c.mu.Lock()
	r, ok := c.read[key]
	c.mu.Unlock()
	if ok {
		return r.settings, r.err
	}
	r.settings, r.err = readSettings([]byte(key))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.read == nil || len(c.read) >= maxInputs {
		c.read = make(map[string]readInput, maxInputs)
	}
	c.read[key] = r
	return r.settings, r.err
}

// writeJSONValue writes a protobuf value as JSON, each object's keys in
// order, as json.Marshal writes the map that AsInterface returns: the same
// input always gives the same bytes.
func writeJSONValue(b *strings.Builder, v *structpb.Value) {
	switch k := v.GetKind().(type) {
	case *structpb.Value_StringValue:
		writeJSONString(b, k.StringValue)
	case *structpb.Value_NumberValue:
		// NaN and the infinities, which JSON cannot hold, write nothing:
		// the decoder then refuses the input.
		n, _ := json.Marshal(k.NumberValue)
		b.Write(n)
	case *structpb.Value_BoolValue:
		b.WriteString(strconv.FormatBool(k.BoolValue))
	case *structpb.Value_StructValue:
		_ = writeJSONObject(b, k.StructValue.GetFields(), func(v *structpb.Value) error {
			writeJSONValue(b, v)
			return nil
		})
	case *structpb.Value_ListValue:
		b.WriteByte('[')
		for i, e := range k.ListValue.GetValues() {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONValue(b, e)
		}
		b.WriteByte(']')
	default:
		b.WriteString("null")
	}
}

// readSettings decodes an input's JSON, refusing fields it does not know, and
// returns the settings it gives. It decodes with Kubernetes' JSON decoder,
// as request.GetInput does with protojson's output; but protojson varies its
// spacing from one run to the next, and so would a refusal's message, which
// must stay the same between reconciles.
func readSettings(b []byte) (Settings, error) {
	in := &v1beta1.Input{}
	if b != nil {
		strict, err := kjson.UnmarshalStrict(b, in)
		if err != nil {
			return Settings{}, err
		}
		if err := kerrors.NewAggregate(strict); err != nil {
			return Settings{}, err
		}
	}
	settings, errs := ParseInput(in)
	if len(errs) > 0 {
		return Settings{}, errors.New(join(errs))
	}
	return settings, nil
}
