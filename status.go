package main

// Status is what the XR's status reports of the key: each field is nil
// until its value is known.
type Status struct {
	KeyID           *string
	KeyARN          *string
	AliasName       *string
	AliasARN        *string
	RotationEnabled *bool
	DeletionWindow  *int64
	// Replicas are the replica keys whose ARN is known, by region.
	Replicas []ReplicaStatus
}

// ReplicaStatus is what the XR's status reports of a replica key.
type ReplicaStatus struct {
	Region string
	KeyARN string
	// AliasARN is the ARN of the alias in the replica's region, nil until
	// it is known.
	AliasARN *string
}

// ComputeStatus returns the XR's status for a valid claim, what is
// observed of its Key and Alias, and what was decided about them: an alias
// observed only is reported once it is the claim's. The key an earlier call
// recorded stays in the status while the Key reports no id (as while
// provider-aws re-creates a key it reads as missing) and while the key is
// said to be replaced, so that every call knows which key was the claim's.
func ComputeStatus(b Backend, o Observed, d Adoptions, recorded RecordedKey, replaced bool) Status {
	name := aliasPrefix + b.AliasName
	s := Status{AliasName: &name, KeyID: nonEmpty(recorded.ID)}
	if k := o.Key; k != nil {
		if k.KeyID != "" && !replaced {
			s.KeyID = &k.KeyID
		}
		s.KeyARN = nonEmpty(k.ARN)
		s.RotationEnabled = k.RotationEnabled
		s.DeletionWindow = k.DeletionWindowInDays
	}
	if replaced {
		s.KeyARN = nonEmpty(recorded.ARN)
	}
	for _, r := range b.Regions() {
		// An Alias observed only is reported once it is the claim's.
		var aliasARN *string
		if a := o.Aliases[r]; a != nil && d.Aliases[r].Managed() {
			aliasARN = nonEmpty(a.ARN)
		}
		if r == b.Region {
			s.AliasARN = aliasARN
			continue
		}
		if rep := o.Replicas[r]; rep != nil && rep.ARN != "" {
			s.Replicas = append(s.Replicas, ReplicaStatus{Region: r, KeyARN: rep.ARN, AliasARN: aliasARN})
		}
	}
	return s
}

// Fields returns the status as the XR's status fields, leaving out the
// unknown ones.
func (s Status) Fields() map[string]any {
	f := make(map[string]any, 6)
	put(f, "kmsKeyId", s.KeyID)
	put(f, "kmsKeyArn", s.KeyARN)
	put(f, "kmsKeyAliasName", s.AliasName)
	put(f, "kmsKeyAliasArn", s.AliasARN)
	put(f, "kmsKeyRotationEnabled", s.RotationEnabled)
	put(f, "kmsKeyDeletionWindow", s.DeletionWindow)
	if len(s.Replicas) > 0 {
		replicas := make([]any, 0, len(s.Replicas))
		for _, r := range s.Replicas {
			m := map[string]any{"region": r.Region, "keyArn": r.KeyARN}
			put(m, "aliasArn", r.AliasARN)
			replicas = append(replicas, m)
		}
		f["replicas"] = replicas
	}
	return f
}

func put[T any](f map[string]any, name string, v *T) {
	if v != nil {
		f[name] = *v
	}
}

// ConnectionDetails returns the legacy XR's connection details: the key's
// and alias's identifiers that are known.
func (s Status) ConnectionDetails() map[string][]byte {
	cd := map[string][]byte{}
	for name, v := range map[string]*string{
		"kmsKeyId":        s.KeyID,
		"kmsKeyArn":       s.KeyARN,
		"kmsKeyAliasName": s.AliasName,
		"kmsKeyAliasArn":  s.AliasARN,
	} {
		if v != nil {
			cd[name] = []byte(*v)
		}
	}
	return cd
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
