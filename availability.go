package main

import (
	"fmt"
	"regexp"
	"strings"
	"time"
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

// KeyAvailability says whether the claim's key, and its replicas, can be
// used, and if not, what it waits for or what the provider reported: a
// resource whose Synced or LastAsyncOperation condition is False with an
// error is a ProviderError; a resource the provider has not reported on
// yet, an Alias waiting for its Key's id, and a resource being probed in
// AWS (which the provider, allowed only to observe, may report missing) are
// still Creating. regions are the key's region, then its replicas'; name is
// the alias's, and keyID the key the claim adopts.
func KeyAvailability(o Observed, regions []string, name, keyID string, d Adoptions) Availability {
	for i, r := range regions {
		keyPart, aliasPart := "key", "alias"
		if i > 0 {
			keyPart, aliasPart = "replica "+r, "alias "+r
		}
		key, alias := o.ConditionsIn(r)
		if msg := providerError(key); msg != "" {
			return Availability{Reason: reasonProviderError, Message: keyPart + ": " + msg}
		}
		// An Alias not yet managed may be missing: that is an answer, not
		// a failure.
		if probing(d.Aliases[r]) && alias.Missing() {
			continue
		}
		if msg := providerError(alias); msg != "" {
			return Availability{Reason: reasonProviderError, Message: aliasPart + ": " + msg}
		}
	}
	for i, r := range regions {
		key, alias := o.ConditionsIn(r)
		aliasWait := aliasWaiting(d.Aliases[r], alias, name, r)
		if i > 0 {
			switch {
			case !available(key):
				return creating("Waiting for the replica in " + r + "; its alias waits for it")
			case aliasWait == waitingForAlias:
				return creating(aliasWait + " in " + r)
			case aliasWait != "":
				return creating(aliasWait)
			}
			continue
		}
		var keyWait string
		switch {
		case d.Key == adoptionProbe:
			keyWait = "Waiting for provider-aws to read key " + keyID + " in AWS before adopting it"
		case !available(key):
			keyWait = "Waiting for the key"
		}
		switch {
		case keyWait == "" && aliasWait == "":
		case keyWait == "":
			return creating(aliasWait)
		case aliasWait == "":
			return creating(keyWait)
		case aliasWait == waitingForAlias:
			return creating(keyWait + "; the alias waits for the key")
		default:
			return creating(keyWait + "; " + lowerFirst(aliasWait))
		}
	}
	return Availability{Available: true, Reason: reasonAvailable}
}

// probing reports whether an Alias is composed observe-only to learn
// whether its alias exists, or was just reported missing and is being
// created.
func probing(a Adoption) bool { return a == adoptionProbe || a == adoptionCreate }

// waitingForAlias is what an Alias that is managed, but not yet available,
// waits for.
const waitingForAlias = "Waiting for the alias"

// aliasWaiting says what the Alias in a region waits for, or empty when it
// is available.
func aliasWaiting(a Adoption, c Conditions, name, region string) string {
	switch {
	case a == adoptionProbe:
		return "Checking whether " + aliasPrefix + name + " exists in AWS in " + region
	case a == adoptionCreate && c.Missing():
		return "Creating " + aliasPrefix + name + " in " + region + ", which AWS reported missing"
	case !available(c):
		return waitingForAlias
	}
	return ""
}

func creating(msg string) Availability {
	return Availability{Reason: reasonCreating, Message: msg}
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// KeyReplaced says, when the key the XR's status recorded (recordedID) is
// no longer the Key's (currentID), that it was replaced: provider-aws reads
// a key deleted or scheduled for deletion outside the cluster as missing,
// and creates a new one in its place, which the alias then targets. It
// names the old key, whose deletion can be cancelled within its window.
// While it says so, the status keeps naming the old key, so it says so on
// every call, until the longest deletion window has passed since it first
// said it (previous): then the old key is gone for good, and the new one
// is the claim's.
func KeyReplaced(recordedID, currentID string, previous Condition, now time.Time) (Availability, bool) {
	if recordedID == "" || currentID == "" || recordedID == currentID {
		return Availability{}, false
	}
	if previous.Reason == reasonKeyReplaced && !previous.Since.IsZero() && now.Sub(previous.Since) >= maxDeletionWindowInDays*24*time.Hour {
		return Availability{}, false
	}
	return Availability{Reason: reasonKeyReplaced, Message: fmt.Sprintf(
		"The key %s was replaced by %s: it was deleted or scheduled for deletion outside the cluster, provider-aws created a new key in its place, and the alias now targets the new key, which cannot decrypt what %s encrypted. If %s is pending deletion, cancel its deletion within its window (aws kms cancel-key-deletion --key-id %s) and ask the platform team to restore it; status names %s until %d days after this was first said",
		recordedID, currentID, recordedID, recordedID, recordedID, recordedID, maxDeletionWindowInDays)}, true
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
