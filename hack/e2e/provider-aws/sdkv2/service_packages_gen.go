//go:build ignore

// Copyright IBM Corp. 2014, 2026
// SPDX-License-Identifier: MPL-2.0

// Replaces internal/provider/sdkv2/service_packages_gen.go of provider-aws'
// Terraform provider fork (generated there by
// internal/generate/servicepackages/main.go). The Terraform provider
// registers every AWS service, and so links all of them; this build
// registers the KMS service only, so that a cold build fits CI.
// hack/e2e/install.sh copies it into a writable copy of the fork's module,
// without the ignore tag, which keeps it out of this repository's builds.

package sdkv2

import (
	"context"
	"slices"

	"github.com/hashicorp/terraform-provider-aws/internal/conns"
	"github.com/hashicorp/terraform-provider-aws/internal/service/kms"
)

func servicePackages(ctx context.Context) []conns.ServicePackage {
	v := []conns.ServicePackage{
		kms.ServicePackage(ctx),
	}

	return slices.Clone(v)
}
