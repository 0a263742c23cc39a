package main

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// maxReported and maxMessageBytes bound the problems one message lists: a
// message, repeated in a condition, an event and a result, must stay
// readable and small whatever the claim holds.
const (
	maxReported     = 20
	maxMessageBytes = 16 << 10
)

// maxShown is the longest value a message quotes whole: room for an IAM
// role ARN with a long path.
const maxShown = 256

// shown returns a user's value as a message quotes it: whole up to
// maxShown characters, cut with an ellipsis beyond.
func shown(s string) string {
	if utf8.RuneCountInString(s) <= maxShown {
		return s
	}
	r := []rune(strings.ToValidUTF8(s, ""))
	if len(r) <= maxShown {
		return string(r)
	}
	return string(r[:maxShown]) + "…"
}

// capped keeps the first maxReported warnings, each of which becomes an
// event, and says how many more there are.
func capped(warns []string) []string {
	if len(warns) <= maxReported {
		return warns
	}
	return append(warns[:maxReported:maxReported], fmt.Sprintf("and %d more warnings", len(warns)-maxReported))
}

// join lists every error, each with its field path, in one message; past
// maxReported errors, or past maxMessageBytes, it says how many more there
// are.
func join(errs field.ErrorList) string {
	msgs := make([]string, 0, min(len(errs), maxReported)+1)
	size := 0
	for _, e := range errs {
		msg := e.Error()
		// Room is kept for the message's prefix and the count of the rest.
		if len(msgs) == maxReported || size+len(msg) > maxMessageBytes-256 {
			break
		}
		msgs = append(msgs, msg)
		size += len(msg) + len("; ")
	}
	if more := len(errs) - len(msgs); more > 0 {
		msgs = append(msgs, fmt.Sprintf("and %d more problems", more))
	}
	return strings.Join(msgs, "; ")
}
