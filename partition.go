package main

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// kmsEndpoints resolves KMS endpoints from the AWS SDK's endpoint rules and
// partition table, which the SDK keeps current with AWS's partitions.
var kmsEndpoints = kms.NewDefaultEndpointResolverV2()

// dnsSuffix returns the DNS suffix of the region's partition, as AWS
// services name themselves in kms:ViaService: amazonaws.com in aws and
// aws-us-gov, amazonaws.com.cn in aws-cn, and so on. The SDK has no
// exported partition lookup, so it is read from the region's KMS endpoint,
// kms.<region>.<suffix>. A region the table does not know is in the aws
// partition, as the SDK's rules say.
func dnsSuffix(region string) string {
	ep, err := kmsEndpoints.ResolveEndpoint(context.Background(), kms.EndpointParameters{Region: &region})
	if err != nil {
		// Only a missing region fails to resolve; every caller has one.
		return defaultDNSSuffix
	}
	host, ok := strings.CutPrefix(ep.URI.Host, "kms."+region+".")
	if !ok {
		return defaultDNSSuffix
	}
	return host
}

// defaultDNSSuffix is the aws partition's.
const defaultDNSSuffix = "amazonaws.com"
