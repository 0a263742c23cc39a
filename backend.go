package main

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Backend is a KmsBackend's spec once it is valid and every default is
// applied: all that the key policy, the composed Key and Alias and the
// XR's status are computed from.
type Backend struct {
	// AliasName is the alias without its alias/ prefix.
	AliasName            string
	Description          string
	DeletionWindowInDays int64
	EnableKeyRotation    bool
	RotationPeriodInDays *int64
	// AdminUsers and StandardUsers are sorted and free of duplicates.
	AdminUsers    []string
	StandardUsers []string
	// AccountRoot is the root principal of the key's account, or empty when
	// the platform dropped the EnableIAMUserPermissions statement.
	AccountRoot string
	// ProviderPrincipal is the IAM ARN provider-aws acts as, an
	// administrator beside AdminUsers; empty when the platform names none.
	ProviderPrincipal string
	// KeyAdministration limits the administrators to AWS's
	// key-administrator actions; otherwise they have kms:*.
	KeyAdministration  bool
	Region             string
	Tags               map[string]string
	ProviderConfigName string
	DeletionPolicy     string
	// AllowedServices are the AWS services through which alone the standard
	// users may use the key, sorted; empty when they may use it directly.
	AllowedServices []string
	// ReplicaRegions are the regions of the key's replicas, sorted; a key
	// with replicas is a multi-region key.
	ReplicaRegions []string
	// ExistingKeyID is the id of a key that exists in AWS, made outside the
	// cluster, which the claim adopts instead of creating one; empty for a
	// new key.
	ExistingKeyID string
	// Account is the key's AWS account: the function input's
	// policy.accountId, else the admin users' account; empty when the admin
	// users span several accounts and the input names none.
	Account string
}

// Administrators are the principals the key policy names as key
// administrators: the admin users and provider-aws' principal, sorted and
// free of duplicates.
func (b Backend) Administrators() []string {
	if b.ProviderPrincipal == "" {
		return b.AdminUsers
	}
	i, found := slices.BinarySearch(b.AdminUsers, b.ProviderPrincipal)
	if found {
		return b.AdminUsers
	}
	return slices.Insert(slices.Clone(b.AdminUsers), i, b.ProviderPrincipal)
}

// Regions are the regions of the backend's key and its replicas, the key's
// first.
func (b Backend) Regions() []string { return append([]string{b.Region}, b.ReplicaRegions...) }

// MultiRegion reports whether the backend's key is a multi-region key.
func (b Backend) MultiRegion() bool { return len(b.ReplicaRegions) > 0 }

// AliasID identifies the AWS alias a backend manages, within one flavour:
// the first 63 hexadecimal digits (a label value's limit) of the SHA-256 of
// <provider config>/<region>/<alias name>, which no label could hold as
// they are. Neither a provider config's name nor a region holds a slash, so
// the three parts cannot run into each other.
func (b Backend) AliasID() string { return b.AliasIDIn(b.Region) }

// AliasIDIn is the AliasID of the backend's alias in a region: the key's,
// or one of its replicas'.
func (b Backend) AliasIDIn(region string) string {
	h := sha256.Sum256([]byte(b.ProviderConfigName + "/" + region + "/" + b.AliasName))
	return hex.EncodeToString(h[:])[:63]
}

// Limits of AWS KMS and of AWS tagging that a claim must respect. Lengths
// are in characters, as AWS counts them.
const (
	minDeletionWindowInDays = 7
	maxDeletionWindowInDays = 30
	maxAliasNameLength      = 250
	maxDescriptionLength    = 8192
	minRotationPeriodInDays = 90
	maxRotationPeriodInDays = 2560
	// maxTags leaves room, under AWS's 50 tags per key, for the three tags
	// provider-aws adds to every resource it manages (providerTags).
	maxTags           = 50 - 3
	maxTagKeyLength   = 128
	maxTagValueLength = 256
	// maxPrincipals bounds each list of ARNs: every ARN takes at least 33
	// bytes of the key policy, so no more than about 990 fit its 32,768.
	maxPrincipals = 1000
	// maxPolicyBytes is the KMS limit on the size of a key policy.
	maxPolicyBytes = 32768
	// maxAllowedServices bounds spec.allowedServices.
	maxAllowedServices = 20
	// maxReplicaRegions bounds spec.replicaRegions.
	maxReplicaRegions = 10
)

// viaServices are the services spec.allowedServices may name: AWS services
// that use a KMS key on a caller's behalf, by the name kms:ViaService gives
// them (<service>.<region>.amazonaws.com). EBS volumes are ec2's.
var viaServices = []string{
	"backup", "dynamodb", "ec2", "ecr", "elasticache", "elasticfilesystem", "es", "glue", "kinesis", "lambda",
	"rds", "redshift", "s3", "secretsmanager", "sns", "sqs", "ssm",
}

// The built-in defaults, used when neither the claim nor the function's
// input sets a field.
const (
	defaultDeletionWindowInDays = 30
	defaultProviderConfigName   = "default"
	defaultDescriptionFormat    = "KMS key for alias/%s"
)

// The values of the function input's policy.administratorActions.
const (
	administratorActionsAll               = "All"
	administratorActionsKeyAdministration = "KeyAdministration"
)

// Names in AWS and provider-aws that a claim's values are checked against.
const (
	aliasPrefix          = "alias/"
	reservedAliasPrefix  = "aws/"
	reservedTagPrefix    = "aws:"
	deletionPolicyDelete = "Delete"
	deletionPolicyOrphan = "Orphan"
)

// providerTags are the tags provider-aws sets on every managed resource; a
// claim that set them would fight the provider over their values.
var providerTags = []string{"crossplane-kind", "crossplane-name", "crossplane-providerconfig"}

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

// The management policies of a resource the function does not create:
// observed only while it is probed or refused, and managed in place once
// adopted. crossplane-runtime supports no set that may update and delete
// but not create, and one that may create could replace an adopted key
// that reads as missing: so an adopted resource outlives its claim.
var (
	observePolicies = []string{"Observe"}
	adoptPolicies   = []string{"Observe", "Update", "LateInitialize"}
	allPolicies     = []string{"*"}
)

// orphanPolicies are the management policies of a namespaced managed
// resource whose external resource outlives it: every action but Delete. A
// namespaced managed resource has no deletionPolicy: what its deletion does
// is one of its management policies.
var orphanPolicies = []string{"Observe", "Create", "Update", "LateInitialize"}

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

// aliasIDLabel labels each composed Alias with its Backend's AliasID, so
// that the function can ask Crossplane for every Alias of one AWS alias.
const aliasIDLabel = "kms.example.org/alias-id"

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

// specPath and inputPath are the roots of the field paths that errors name:
// the claim's spec, for an app team, and the function's input in the
// Composition, for a platform team.
var (
	specPath  = field.NewPath("spec")
	inputPath = field.NewPath("input")
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
