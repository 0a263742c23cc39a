//go:build ignore

// Copyright IBM Corp. 2014, 2026
// SPDX-License-Identifier: MPL-2.0

// Replaces internal/conns/awsclient_gen.go of provider-aws' Terraform
// provider fork (generated there by internal/generate/awsclient/main.go),
// which has a client method for every AWS service and so links every
// service's SDK client. This build registers the KMS service only, so that
// a cold build fits CI: it keeps the KMS client, and the S3 client that
// awsclient.go's S3ExpressClient calls (aws-sdk-go-base links S3 anyway).
// hack/e2e/install.sh copies it into a writable copy of the fork's module,
// without the ignore tag, which keeps it out of this repository's builds.

package conns

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/terraform-provider-aws/internal/errs"
	"github.com/hashicorp/terraform-provider-aws/names"
)

func (c *AWSClient) KMSClient(ctx context.Context) *kms.Client {
	return errs.Must(client[*kms.Client](ctx, c, names.KMS, make(map[string]any)))
}

func (c *AWSClient) S3Client(ctx context.Context) *s3.Client {
	return errs.Must(client[*s3.Client](ctx, c, names.S3, make(map[string]any)))
}
