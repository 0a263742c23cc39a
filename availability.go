package main

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// The reasons of the KeyAvailable condition.
const (
	reasonAvailable     = "Available"
	reasonCreating      = "Creating"
	reasonProviderError = "ProviderError"
)

// What the provider's conditions say that is not a failure: a paused
// resource, and an Alias waiting for its Key's id.
const (
	reasonReconcilePaused   = "ReconcilePaused"
	waitingForReferencedKey = "referenced resource may not yet be ready"
)

// maxAvailabilityMessage bounds the provider's words that a condition and
// an event repeat.
const maxAvailabilityMessage = 512

// Availability is the KeyAvailable condition: True once the Key and the
// Alias are both Ready and Synced.
type Availability struct {
	Available bool
	Reason    string
	Message   string
}

// KeyAvailability says whether the claim's key, and its replicas in these
// regions, can be used, and if not, what it waits for or what the provider
// reported: a resource whose Synced or LastAsyncOperation condition is False
// with an error is a ProviderError; a resource the provider has not reported
// on yet, or an Alias waiting for its Key's id, is still Creating.
func KeyAvailability(o Observed, replicaRegions []string) Availability {
	key, alias := o.conditions()
	type part struct {
		name       string
		conditions Conditions
	}
	parts := []part{{"key", key}, {"alias", alias}}
	for _, r := range replicaRegions {
		replica, replicaAlias := o.replicaConditions(r)
		parts = append(parts, part{"replica " + r, replica}, part{"alias " + r, replicaAlias})
	}
	for _, p := range parts {
		if msg := providerError(p.conditions); msg != "" {
			return Availability{Reason: reasonProviderError, Message: p.name + ": " + msg}
		}
	}
	keyOK, aliasOK := available(key), available(alias)
	switch {
	case keyOK && aliasOK:
	case keyOK:
		return Availability{Reason: reasonCreating, Message: "Waiting for the alias"}
	case aliasOK:
		return Availability{Reason: reasonCreating, Message: "Waiting for the key"}
	default:
		return Availability{Reason: reasonCreating, Message: "Waiting for the key; the alias waits for the key"}
	}
	for _, r := range replicaRegions {
		replica, replicaAlias := o.replicaConditions(r)
		switch {
		case !available(replica):
			return Availability{Reason: reasonCreating, Message: "Waiting for the replica in " + r + "; its alias waits for it"}
		case !available(replicaAlias):
			return Availability{Reason: reasonCreating, Message: "Waiting for the alias in " + r}
		}
	}
	return Availability{Available: true, Reason: reasonAvailable}
}

func available(c Conditions) bool { return c.True(conditionReady) && c.True(conditionSynced) }

// providerError returns the provider's error on a resource, made stable, or
// empty if the resource has not failed. A LastAsyncOperation left False by
// an earlier attempt does not count once the resource is Synced again.
func providerError(c Conditions) string {
	s := c[conditionSynced]
	if s.Status == "False" && s.Reason != reasonReconcilePaused &&
		!strings.Contains(s.Message, waitingForReferencedKey) && s.Message != "" {
		return stableMessage(s.Message)
	}
	if a := c[conditionLastAsync]; s.Status != "True" && a.Status == "False" && a.Message != "" {
		return stableMessage(a.Message)
	}
	return ""
}

var (
	// requestID matches the AWS SDK's request id, new on every call.
	requestID = regexp.MustCompile(`RequestID: [^,\s]*,?\s*`)
	// timestamp matches RFC 3339 times.
	timestamp = regexp.MustCompile(`\s*\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})`)
	// diagnostics matches the list Terraform's diagnostics are printed as
	// by upjet, e.g. [{0 creating KMS Key: ...  []}].
	diagnostics = regexp.MustCompile(`(?s)\[\{\d+ (.*?)\s*\[\]\}\]`)
	whitespace  = regexp.MustCompile(`\s+`)
)

// stableMessage returns the provider's message without what changes from one
// attempt to the next (request ids, times), on one line and bounded, so that
// the condition changes only when the error does.
func stableMessage(msg string) string {
	msg = diagnostics.ReplaceAllString(msg, "$1")
	msg = requestID.ReplaceAllString(msg, "")
	msg = timestamp.ReplaceAllString(msg, "")
	msg = strings.TrimSpace(whitespace.ReplaceAllString(msg, " "))
	if utf8.RuneCountInString(msg) > maxAvailabilityMessage {
		r := []rune(msg)
		msg = string(r[:maxAvailabilityMessage-1]) + "…"
	}
	return msg
}
