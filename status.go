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
}

// ComputeStatus returns the XR's status for a valid claim and what is
// observed of its Key and Alias.
func ComputeStatus(b Backend, o Observed) Status {
	name := aliasPrefix + b.AliasName
	s := Status{AliasName: &name}
	if k := o.Key; k != nil {
		s.KeyID = nonEmpty(k.KeyID)
		s.KeyARN = nonEmpty(k.ARN)
		s.RotationEnabled = k.RotationEnabled
		s.DeletionWindow = k.DeletionWindowInDays
	}
	if a := o.Alias; a != nil {
		s.AliasARN = nonEmpty(a.ARN)
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
