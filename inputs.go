package main

import (
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// inputs remembers what each distinct function input gives. The input is
// the Composition's: every XR of a Composition revision sends the same one,
// on every call, so it is decoded and checked once rather than on every
// call, where it cost a sixth of RunFunction's CPU.
type inputs struct {
	mu sync.Mutex
	m  map[string]parsedInput
}

// parsedInput is what an input gives: the platform's settings, or the
// message that refuses the input.
type parsedInput struct {
	settings Settings
	problem  string
}

// maxInputs bounds the memory the remembered inputs take, whatever inputs
// arrive: past it, they are forgotten and remembered afresh. A platform has
// a handful of Compositions, each with a few revisions.
const maxInputs = 64

// get returns what the input gives, from parse the first time it is seen.
// parse must be a pure function of the input; what it returns is shared
// between calls and must not be changed.
func (c *inputs) get(in *structpb.Struct, parse func(*structpb.Struct) parsedInput) parsedInput {
	// Deterministic: equal inputs give equal bytes, whatever the order of
	// their maps.
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(in)
	if err != nil {
		return parse(in)
	}
	key := string(b)
	c.mu.Lock()
	p, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return p
	}
	p = parse(in)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxInputs {
		c.m = make(map[string]parsedInput)
	}
	c.m[key] = p
	c.mu.Unlock()
	return p
}
