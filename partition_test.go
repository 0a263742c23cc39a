package main

import "testing"

// TestDNSSuffix reads the DNS suffix of a region of each partition, and of a
// region the SDK's table does not list, which its partition's pattern
// places, from the AWS SDK's partition data.
func TestDNSSuffix(t *testing.T) {
	regions := map[string]string{
		"aws":        "eu-west-1",
		"aws-cn":     "cn-north-1",
		"aws-us-gov": "us-gov-west-1",
		"aws-iso":    "us-iso-east-1",
		"aws-iso-b":  "us-isob-east-1",
		"aws-iso-e":  "eu-isoe-west-1",
		"aws-iso-f":  "us-isof-south-1",
		"aws-eusc":   "eusc-de-east-1",
	}
	for partition := range partitions {
		region, ok := regions[partition]
		if !ok {
			t.Errorf("partition %s, which a claim's ARNs may name, has no region here", partition)
			continue
		}
		if got, want := dnsSuffix(region), partitionSuffixes[partition]; got != want {
			t.Errorf("dnsSuffix(%q) in %s: want %q, got %q", region, partition, want, got)
		}
	}
	for region, want := range map[string]string{"cn-south-9": "amazonaws.com.cn", "us-gov-north-9": "amazonaws.com", "xx-nowhere-1": "amazonaws.com"} {
		if got := dnsSuffix(region); got != want {
			t.Errorf("dnsSuffix(%q), a region the table does not list: want %q, got %q", region, want, got)
		}
	}
}
