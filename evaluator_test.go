package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The key policies the function writes are judged by what an independent IAM
// evaluator, @cloud-copilot/iam-simulate (pinned in hack/iam-simulate/, run
// with Node), says they allow: for each policy, a table of requests (who,
// which action, through which service, with or without an IAM policy of
// their own allowing kms:*) and the decision the claim asked for.

// evaluatorScript runs the evaluator over a batch of requests.
const evaluatorScript = "hack/iam-simulate/simulate.mjs"

// evalRequest is one request to the evaluator; see evaluatorScript.
type evalRequest struct {
	Policy       int               `json:"policy"`
	Principal    string            `json:"principal"`
	Action       string            `json:"action"`
	Resource     string            `json:"resource"`
	Account      string            `json:"account"`
	Context      map[string]string `json:"context,omitempty"`
	IAMAllowsKMS bool              `json:"iamAllowsKms,omitempty"`
}

func (r evalRequest) String() string {
	iam := "no IAM policy"
	if r.IAMAllowsKMS {
		iam = "an IAM policy allowing kms:*"
	}
	ctx := "directly"
	if len(r.Context) > 0 {
		keys := make([]string, 0, len(r.Context))
		for k, v := range r.Context {
			keys = append(keys, k+"="+v)
		}
		slices.Sort(keys)
		ctx = "with " + strings.Join(keys, ", ")
	}
	return fmt.Sprintf("%s calls %s %s, with %s", r.Principal, r.Action, ctx, iam)
}

// Decisions of the evaluator.
const (
	allowed          = "Allowed"
	explicitlyDenied = "ExplicitlyDenied"
	implicitlyDenied = "ImplicitlyDenied"
)

// evaluate asks the evaluator to judge each request against its policy. It
// fails the test when the evaluator is not installed and IAM_SIMULATE is
// "required", as make test sets it, and skips it otherwise.
func evaluate(t *testing.T, policies []string, reqs []evalRequest) []string {
	t.Helper()
	node, err := exec.LookPath("node")
	module := filepath.Join(filepath.Dir(evaluatorScript), "node_modules", "@cloud-copilot", "iam-simulate", "package.json")
	if _, statErr := os.Stat(module); err != nil || statErr != nil {
		msg := "the IAM evaluator (Node 20 and @cloud-copilot/iam-simulate in hack/iam-simulate) is not installed"
		if os.Getenv("IAM_SIMULATE") == "required" {
			t.Fatalf("%s: install Node 20 with npm (apt-get install nodejs npm), then make test installs the evaluator with npm ci", msg)
		}
		t.Skipf("%s: make test installs it and runs these tests", msg)
	}
	in, err := json.Marshal(map[string]any{"policies": policies, "requests": reqs})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, evaluatorScript)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", evaluatorScript, err, stderr.String())
	}
	var answers []struct{ Result, Error string }
	if err := json.Unmarshal(out, &answers); err != nil || len(answers) != len(reqs) {
		t.Fatalf("%s: want %d answers, got %d (%v): %.500s", evaluatorScript, len(reqs), len(answers), err, out)
	}
	got := make([]string, len(answers))
	for i, a := range answers {
		if a.Error != "" {
			t.Fatalf("the evaluator refused the request %s: %s", reqs[i], a.Error)
		}
		got[i] = a.Result
	}
	return got
}

// judged is a request and the decision the claim asked for, with why.
type judged struct {
	req  evalRequest
	want string
	why  string
}

// judge evaluates each policy's requests and reports every decision that is
// not the one the claim asked for.
func judge(t *testing.T, names, policies []string, cases [][]judged) {
	t.Helper()
	var reqs []evalRequest
	var flat []judged
	for i, cs := range cases {
		for _, c := range cs {
			c.req.Policy = i
			reqs = append(reqs, c.req)
			flat = append(flat, c)
		}
	}
	got := evaluate(t, policies, reqs)
	failures := 0
	shown := map[int]bool{}
	for i, c := range flat {
		if got[i] == c.want {
			continue
		}
		if failures++; failures > 20 {
			continue
		}
		t.Errorf("%s: %s: want %s (%s), the evaluator says %s", names[c.req.Policy], c.req, c.want, c.why, got[i])
		if !shown[c.req.Policy] {
			shown[c.req.Policy] = true
			t.Logf("the policy of %s: %s", names[c.req.Policy], policies[c.req.Policy])
		}
	}
	if failures > 20 {
		t.Errorf("... and %d more", failures-20)
	}
	t.Logf("%d policies, %d requests judged", len(policies), len(reqs))
}

// Actions the requests name: every use of a symmetric key, the grant
// actions (which AWS services call with kms:GrantIsForAWSResource), and
// management actions.
var (
	useRequests        = []string{"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:GenerateDataKeyPair", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:DescribeKey"}
	grantRequests      = []string{"kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"}
	managementRequests = []string{"kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:PutKeyPolicy", "kms:GetKeyPolicy", "kms:DisableKey", "kms:EnableKey", "kms:UpdateKeyDescription", "kms:TagResource", "kms:UntagResource", "kms:EnableKeyRotation"}
	// cryptoRequests are the uses of the key that AWS's key-administrator
	// list leaves out.
	cryptoRequests = []string{"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:GenerateDataKeyPair", "kms:ReEncryptFrom", "kms:ReEncryptTo"}
)

// claimModel is what a claim and the platform's settings ask of the key's
// policy, in the words of the claim and docs/policy.md: who administers the
// key with which actions, who uses it through which services in which
// regions, and whether the account's IAM policies may grant it.
type claimModel struct {
	keyARN, keyAccount, partition string
	rootStatement                 bool
	admins, users                 []string
	keyAdministration             bool
	multiRegion                   bool
	via                           []string // kms:ViaService values the users may use the key through
	services, regions             []string
}

// model reads a resolved backend as the claim's request. The key's account
// is the one the policy's root statement names, else provider-aws' (which
// creates the key), else the first administrator's.
func model(b Backend) claimModel {
	admins := b.Administrators()
	first, _ := ParsePrincipal(admins[0])
	m := claimModel{
		partition:         first.Partition,
		keyAccount:        b.Account,
		rootStatement:     b.AccountRoot != "",
		admins:            admins,
		users:             b.StandardUsers,
		keyAdministration: b.KeyAdministration,
		multiRegion:       b.MultiRegion(),
		services:          b.AllowedServices,
		regions:           b.Regions(),
	}
	if p, msg := ParsePrincipal(b.ProviderPrincipal); m.keyAccount == "" && msg == "" {
		m.keyAccount = p.Account
	}
	if m.keyAccount == "" {
		m.keyAccount = first.Account
	}
	m.keyARN = "arn:" + m.partition + ":kms:" + b.Region + ":" + m.keyAccount + ":key/1234abcd-12ab-34cd-56ef-1234567890ab"
	for _, s := range m.services {
		for _, r := range m.regions {
			m.via = append(m.via, viaName(s, r, m.partition))
		}
	}
	return m
}

// partitionSuffixes are the DNS suffixes AWS services carry in each
// partition's regions, as AWS documents them; TestDNSSuffix holds the
// function's reading of the SDK to them.
var partitionSuffixes = map[string]string{
	"aws": "amazonaws.com", "aws-cn": "amazonaws.com.cn", "aws-us-gov": "amazonaws.com",
	"aws-iso": "c2s.ic.gov", "aws-iso-b": "sc2s.sgov.gov", "aws-iso-e": "cloud.adc-e.uk", "aws-iso-f": "csp.hci.ic.gov",
	"aws-eusc": "amazonaws.eu",
}

func viaName(service, region, partition string) string {
	return service + "." + region + "." + partitionSuffixes[partition]
}

// accountOf returns the account of an IAM ARN.
func accountOf(arn string) string {
	p, _ := ParsePrincipal(arn)
	return p.Account
}

func rootOf(partition, account string) string {
	return "arn:" + partition + ":iam::" + account + ":root"
}

// decide is the decision the claim asks for on a request: denied when the
// request is a standard user's use of the key outside its allowed services;
// else allowed when a statement the claim asked for grants it; else denied.
// A principal of another account than the key's needs its own IAM policy
// too, and a grant through the root statement (or a root the claim names)
// needs one always.
func (m claimModel) decide(r evalRequest) (string, string) {
	account := accountOf(r.Principal)
	via, viaSet := r.Context["kms:ViaService"]
	throughService := len(m.services) == 0 || viaSet && slices.Contains(m.via, via)
	admin, user := slices.Contains(m.admins, r.Principal), slices.Contains(m.users, r.Principal)
	crypto, use, grant := slices.Contains(cryptoRequests, r.Action), slices.Contains(useRequests, r.Action), slices.Contains(grantRequests, r.Action)

	if user && !throughService && (crypto || !admin && (use || grant)) {
		return explicitlyDenied, "a standard user is held to allowedServices whatever its IAM policy allows"
	}
	adminMay := !m.keyAdministration || !crypto && (r.Action != "kms:ReplicateKey" || m.multiRegion)
	userMay := throughService && (use || grant && r.Context["kms:GrantIsForAWSResource"] == "true")
	reaches := account == m.keyAccount || r.IAMAllowsKMS
	root := rootOf(m.partition, account)
	switch {
	case admin && adminMay && reaches:
		return allowed, "an administrator manages the key"
	case user && userMay && reaches:
		return allowed, "a standard user uses the key"
	case r.IAMAllowsKMS && account == m.keyAccount && m.rootStatement:
		return allowed, "the root statement lets the account's IAM policies grant the key"
	case r.IAMAllowsKMS && slices.Contains(m.admins, root) && adminMay:
		return allowed, "the claim names the account's root as an administrator"
	case r.IAMAllowsKMS && slices.Contains(m.users, root) && userMay:
		return allowed, "the claim names the account's root as a standard user"
	}
	return implicitlyDenied, "no statement the claim asked for grants it"
}

// requests are the requests that judge a policy: by each principal the claim
// names, by a member of each account whose root it names, by a stranger in
// the key's account and by one in another account; each action, directly
// and through each allowed service in each region, through an unlisted
// service and through a listed one in a region of none of the key's
// replicas; each with and without an IAM policy allowing kms:*.
func (m claimModel) requests() []judged {
	principals := slices.Clone(m.admins)
	for _, u := range m.users {
		if !slices.Contains(principals, u) {
			principals = append(principals, u)
		}
	}
	for i, p := range principals {
		if strings.HasSuffix(p, ":root") {
			principals[i] = "arn:" + m.partition + ":iam::" + accountOf(p) + ":role/member-of-a-named-account"
		}
	}
	principals = append(principals,
		"arn:"+m.partition+":iam::"+m.keyAccount+":role/not-named-by-the-claim",
		"arn:"+m.partition+":iam::"+otherAccount(m)+":role/of-another-account")

	contexts := []map[string]string{nil}
	if len(m.services) > 0 {
		for _, r := range m.regions {
			contexts = append(contexts, map[string]string{"kms:ViaService": viaName(m.services[0], r, m.partition)})
		}
		contexts = append(contexts,
			map[string]string{"kms:ViaService": viaName(unlistedService(m.services), m.regions[0], m.partition)},
			map[string]string{"kms:ViaService": viaName(m.services[0], foreignRegion(m.regions), m.partition)})
	}
	actions := slices.Concat(useRequests, grantRequests, managementRequests)
	if m.multiRegion {
		actions = append(actions, "kms:ReplicateKey")
	}

	var out []judged
	for _, p := range principals {
		for _, a := range actions {
			for _, ctx := range contexts {
				for _, iam := range []bool{false, true} {
					variants := []map[string]string{ctx}
					if slices.Contains(grantRequests, a) {
						variants = []map[string]string{with(ctx, "kms:GrantIsForAWSResource", "true"), with(ctx, "kms:GrantIsForAWSResource", "false")}
					}
					for _, c := range variants {
						r := evalRequest{Principal: p, Action: a, Resource: m.keyARN, Account: m.keyAccount, Context: c, IAMAllowsKMS: iam}
						want, why := m.decide(r)
						out = append(out, judged{req: r, want: want, why: why})
					}
				}
			}
		}
	}
	return out
}

func with(ctx map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for ck, cv := range ctx {
		out[ck] = cv
	}
	return out
}

// otherAccount is an account the claim names nowhere.
func otherAccount(m claimModel) string {
	for _, a := range []string{"999999999999", "888888888888", "777777777777"} {
		if a != m.keyAccount && !slices.ContainsFunc(slices.Concat(m.admins, m.users), func(p string) bool { return accountOf(p) == a }) {
			return a
		}
	}
	return "666666666666"
}

// unlistedService is a service that uses KMS keys and is not allowed.
func unlistedService(allowedServices []string) string {
	for _, s := range slices.Concat(viaServices, []string{"workspaces"}) {
		if !slices.Contains(allowedServices, s) {
			return s
		}
	}
	return "workspaces"
}

// foreignRegion is a region of none of the key's replicas.
func foreignRegion(regions []string) string {
	for _, r := range []string{"ap-southeast-2", "sa-east-1", "ca-central-1"} {
		if !slices.Contains(regions, r) {
			return r
		}
	}
	return "af-south-1"
}

// TestKeyPolicyDecisions judges each golden policy with the evaluator.
func TestKeyPolicyDecisions(t *testing.T) {
	var names, policies []string
	var cases [][]judged
	for name, tc := range policyCases() {
		s := defaultSettings()
		if tc.settings != nil {
			tc.settings(&s)
		}
		c, _, errs := check(t, tc.spec, s)
		if len(errs) > 0 {
			t.Fatalf("%s: %v", name, errs)
		}
		p, err := KeyPolicy(c).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		names, policies = append(names, name), append(policies, p)
		cases = append(cases, model(c).requests())
	}
	judge(t, names, policies, cases)
}

// TestGeneratedKeyPolicyDecisions judges the policies of a few hundred
// claims made at random (with a fixed seed, so that a failure repeats):
// principals of one to three accounts and of every kind, administrators who
// are also users, allowed services, replicas, partitions, and each setting
// of the function input's policy.
func TestGeneratedKeyPolicyDecisions(t *testing.T) {
	const claims, perClaim = 300, 80
	r := rand.New(rand.NewPCG(23, 12))
	var names, policies []string
	var cases [][]judged
	for i := 0; len(policies) < claims; i++ {
		spec, s := randomClaim(r)
		c, _, errs := check(t, spec, s)
		if len(errs) > 0 {
			continue
		}
		p, err := KeyPolicy(c).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		all := model(c).requests()
		r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		names = append(names, fmt.Sprintf("generated claim %d (%v, root statement %v, key administration %v)", i, spec, s.IncludeAccountRoot, s.KeyAdministration))
		policies = append(policies, p)
		cases = append(cases, all[:min(perClaim, len(all))])
	}
	judge(t, names, policies, cases)
}

// randomClaim returns a claim and the platform's settings, not always valid.
func randomClaim(r *rand.Rand) (map[string]any, Settings) {
	partitions := []string{"aws", "aws", "aws", "aws-cn", "aws-us-gov"}
	regions := map[string][]string{
		"aws":        {"eu-west-1", "us-east-1", "eu-central-1", "ap-northeast-1"},
		"aws-cn":     {"cn-north-1", "cn-northwest-1"},
		"aws-us-gov": {"us-gov-west-1", "us-gov-east-1"},
	}
	accounts := []string{"123456789012", "123456789012", "123456789012", "210987654321"}
	names := []string{"role/app", "role/svc/batch", "user/ops/zed", "role/vault-server", "role/admin", "root"}

	partition := partitions[r.IntN(len(partitions))]
	pick := func() []any {
		n := 1 + r.IntN(3)
		out := make([]any, 0, n)
		for range n {
			out = append(out, "arn:"+partition+":iam::"+accounts[r.IntN(len(accounts))]+":"+names[r.IntN(len(names))])
		}
		return out
	}
	rs := regions[partition]
	r.Shuffle(len(rs), func(i, j int) { rs[i], rs[j] = rs[j], rs[i] })
	spec := map[string]any{"aliasName": "app", "region": rs[0], "adminUsers": pick(), "standardUsers": pick()}
	if r.IntN(2) == 0 {
		n := 1 + r.IntN(2)
		services := make([]any, 0, n)
		for _, k := range r.Perm(len(viaServices))[:n] {
			services = append(services, viaServices[k])
		}
		spec["allowedServices"] = services
	}
	if r.IntN(3) == 0 {
		spec["replicaRegions"] = []any{rs[1]}
	}

	s := defaultSettings()
	s.IncludeAccountRoot = r.IntN(3) != 0
	if !s.IncludeAccountRoot || r.IntN(3) == 0 {
		s.ProviderPrincipal = "arn:" + partition + ":iam::123456789012:role/crossplane-provider-aws"
	}
	s.KeyAdministration = r.IntN(3) == 0
	if r.IntN(2) == 0 {
		s.AccountID = "123456789012"
	}
	return spec, s
}
