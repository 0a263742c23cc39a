//go:build e2e_provider

package e2e

import (
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// A lane is a scenario's own KMS: an emulator, a recording proxy in front of
// it, and a provider config of each group (named as the lane) that reaches
// the emulator through the proxy. Scenarios on lanes of their own run at
// once, none seeing another's keys, aliases or calls, so that each can still
// assert what the provider wrote, and what the emulator holds, for its
// claims alone.
type lane struct {
	name string
	// addr is where the emulator listens: the scenario's own reads go
	// there directly, so that rec sees only the provider's calls.
	addr string
	rec  *recorder
}

// The emulators a lane can run.
type emulator int

const (
	// localKMS is local-kms: one region, emulatorRegion.
	localKMS emulator = iota
	// moto keeps keys and aliases by the region of each call's signature
	// and replicates keys.
	moto
)

// newLane starts a lane of the emulator, named name (a name no other lane
// has, e.g. the scenario's namespace), for the test: the emulator and the
// proxy stop when it ends.
func newLane(t *testing.T, name string, e emulator) *lane {
	t.Helper()
	ctx := t.Context()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	p, err := startEmulator(name, e, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	if err := waitFor(ctx, time.Minute, name+"'s emulator listening on "+addr, func() error {
		if err := p.running(); err != nil {
			return exited{err}
		}
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return err
		}
		return conn.Close()
	}); err != nil {
		t.Fatal(err)
	}
	rec, err := startRecorder(addr, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rec.stop)
	if err := cp.providerConfig(ctx, name, rec.addr); err != nil {
		t.Fatal(err)
	}
	return &lane{name: name, addr: addr, rec: rec}
}

// startEmulator starts an emulator listening on addr, its log and data in
// the state directory. moto runs from hack/e2e/moto/server.py, which fixes
// its multi-Region keys (see there); run.sh checks that it is installed.
func startEmulator(name string, e emulator, addr string) (*process, error) {
	host, port, _ := net.SplitHostPort(addr)
	if e == moto {
		python, err := exec.LookPath("python3")
		if err != nil {
			return nil, err
		}
		return start(cp.dir, "moto-"+name, nil, python, filepath.Join("..", "hack", "e2e", "moto", "server.py"), "-H", host, "-p", port)
	}
	return start(cp.dir, "local-kms-"+name, []string{
		"PORT=" + port, "KMS_REGION=" + emulatorRegion, "KMS_ACCOUNT_ID=" + emulatorAccount,
		"KMS_DATA_PATH=" + filepath.Join(cp.dir, "kms", name),
	}, filepath.Join(*binDir, "local-kms"))
}

// freePort returns a loopback port nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// use points an app's object at the lane.
func (l *lane) use(spec map[string]any) { spec["providerConfigName"] = l.name }

// kms returns an AWS SDK KMS client of the lane's emulator in a region, for
// the scenario's own reads and writes.
func (l *lane) kms(region string) *kms.Client {
	return kms.New(kms.Options{
		Region:       region,
		BaseEndpoint: aws.String("http://" + l.addr),
		Credentials:  credentials.NewStaticCredentialsProvider("fake", "fake", ""),
	})
}

// story returns a story of an app's object on the lane, in the emulator's
// region.
func (l *lane) story(f flavour, ns, name string, edits ...func(map[string]any)) *story {
	return &story{f: f, lane: l, kms: l.kms(emulatorRegion), ns: ns, name: name, edits: append([]func(map[string]any){l.use}, edits...)}
}
