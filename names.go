package main

import "k8s.io/apimachinery/pkg/util/validation/field"

// The names every stage shares: of the composed resources, their kinds and
// where they go, the adoption decisions, conditions, and the roots of the
// field paths that messages name.

// Sids of the key policy's statements that name the claim's principals: the
// policy writes them, and the observed policy is read by them.
const (
	sidAdministrators = "KeyAdministrators"
	sidUsers          = "KeyUsers"
)

// Names of the composed resources in the Composition.
const (
	keyName   = "key"
	aliasName = "alias"
)

// The kinds of provider-aws' KMS resources the function composes.
const (
	kindKey        = "Key"
	kindAlias      = "Alias"
	kindReplicaKey = "ReplicaKey"
)

// The composition resource names of a replica key and of its alias, by
// region: the name stays with the region when the list is reordered.
const (
	replicaNamePrefix      = "replica-"
	replicaAliasNamePrefix = "alias-"
)

// ResourceNames are the composition resource names of the backend's key in
// a region (the Key in its own region, a ReplicaKey in the others) and of its
// Alias there.
func (b Backend) ResourceNames(region string) (key, alias string) {
	if region == b.Region {
		return keyName, aliasName
	}
	return replicaNamePrefix + region, replicaAliasNamePrefix + region
}

// Adoption is what the function decided about the AWS resource a composed
// Key or Alias names, recorded on the composed resource in
// adoptionAnnotation so that later calls keep to it.
type Adoption string

// The decisions. A Key the function creates carries none; neither does an
// Alias composed before aliases were probed, which keeps its management.
const (
	// adoptionNone: the function creates and manages the resource in full,
	// as its deletion policy says.
	adoptionNone Adoption = ""
	// adoptionProbe: observed only, until the provider reports whether the
	// resource exists in AWS and what it is.
	adoptionProbe Adoption = "Probe"
	// adoptionCreate: the provider reported that the alias does not exist
	// in AWS; it is created and managed in full.
	adoptionCreate Adoption = "Create"
	// adoptionAdopt: the resource exists and is the claim's: managed in
	// place, never created or deleted by the claim.
	adoptionAdopt Adoption = "Adopt"
	// adoptionRefuse: the alias exists in AWS and targets another key: it
	// stays observed only, and the claim is refused.
	adoptionRefuse Adoption = "Refuse"
)

// Adoptions are the decisions about what the composed resources name in
// AWS: the Key's, and each region's Alias's, by region.
type Adoptions struct {
	Key     Adoption
	Aliases map[string]Adoption
}

// Managed reports whether a composed resource with this adoption is managed
// by its claim, rather than observed only: only then can it be ready.
func (a Adoption) Managed() bool { return a != adoptionProbe && a != adoptionRefuse }

// adoptionAnnotation records a composed resource's Adoption.
const adoptionAnnotation = "kms.example.org/adoption"

// aliasIDLabel labels each composed Alias with its Backend's AliasID, so
// that the function can ask Crossplane for every Alias of one AWS alias.
const aliasIDLabel = "kms.example.org/alias-id"

// aliasOwnerAnnotation records on an Alias the alias id whose ownership an
// answer of Crossplane confirmed: its XR's Alias is the oldest that carries
// it (see aliasowner.go).
const aliasOwnerAnnotation = "kms.example.org/alias-owner-confirmed"

// missingMessage is what provider-aws reports, in a False Synced condition,
// for an observe-only resource that does not exist in AWS: a KMS key id that
// names no key or a key pending deletion, or an alias that no key has.
const missingMessage = "external resource does not exist"

// Reasons of the KeyAvailable condition that adoption adds: the claim's key
// was replaced outside the cluster, or what exists in AWS is not the
// claim's to take.
const (
	reasonKeyReplaced = "KeyReplaced"
	reasonRefused     = "Refused"
)

// Condition types that provider-aws sets on its managed resources. Upjet
// reports a failed asynchronous create or update in LastAsyncOperation.
const (
	conditionReady     = "Ready"
	conditionSynced    = "Synced"
	conditionLastAsync = "LastAsyncOperation"
)

// conditionKeyAvailable is the condition the function sets on the XR and
// its claim about the key itself, so that an app team that can read only its
// claim learns why the key is not ready. Crossplane keeps Ready, Synced and
// Healthy for itself.
const conditionKeyAvailable = "KeyAvailable"

// The API versions of provider-aws' KMS resources: cluster-scoped for a
// cluster-scoped XR, namespaced (Crossplane v2) for a namespaced XR.
const (
	clusterAPIVersion    = "kms.aws.upbound.io/v1beta1"
	namespacedAPIVersion = "kms.aws.m.upbound.io/v1beta1"
)

// namespacedProviderConfigKind is the provider config kind namespaced
// managed resources default to in provider-aws' CRDs.
const namespacedProviderConfigKind = "ClusterProviderConfig"

// Scope says where the composed resources go: cluster-scoped legacy
// resources (kms.aws.upbound.io) for a cluster-scoped XR, namespaced ones
// (kms.aws.m.upbound.io) in the XR's namespace for a namespaced XR.
type Scope struct {
	Namespace string
}

// Namespaced reports whether the XR is a Crossplane v2 namespaced XR.
func (s Scope) Namespaced() bool { return s.Namespace != "" }

// APIVersion is the API version of provider-aws' KMS resources in this
// scope.
func (s Scope) APIVersion() string {
	if s.Namespaced() {
		return namespacedAPIVersion
	}
	return clusterAPIVersion
}

// specPath and inputPath are the roots of the field paths that errors name:
// the claim's spec, for an app team, and the function's input in the
// Composition, for a platform team.
var (
	specPath  = field.NewPath("spec")
	inputPath = field.NewPath("input")
)
