package main

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
