// Command image builds the function's runtime image without a container
// engine: one layer holding the static binary as /function, on an empty base,
// configured as the Dockerfile's distroless image is (entrypoint, nonroot
// user, port 9443). It writes the image as a tarball that
// `crossplane xpkg build --embed-runtime-image-tarball` embeds.
//
// The function needs nothing from a base image: it is a static binary that
// makes no outbound TLS calls and writes no files.
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// nonroot is distroless' nonroot user and group.
const nonroot = "65532:65532"

func main() {
	binary := flag.String("binary", "", "the static linux binary of the function")
	arch := flag.String("arch", "amd64", "the binary's GOARCH")
	tag := flag.String("tag", "function-kms-backend:dev", "the image's name in the tarball")
	output := flag.String("output", "", "the image tarball to write")
	flag.Parse()
	if err := build(*binary, *arch, *tag, *output); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func build(binary, arch, tag, output string) error {
	if binary == "" || output == "" {
		return fmt.Errorf("-binary and -output are required")
	}
	b, err := os.ReadFile(binary)
	if err != nil {
		return err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar(b))), nil
	})
	if err != nil {
		return err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", arch
	cfg.Config.Entrypoint = []string{"/function"}
	cfg.Config.User = nonroot
	cfg.Config.WorkingDir = "/"
	cfg.Config.ExposedPorts = map[string]struct{}{"9443/tcp": {}}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return err
	}
	ref, err := name.NewTag(tag)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(output, ref, img)
}

// layerTar is a tar holding only the binary as /function, with fixed
// metadata so that the same binary gives the same layer digest.
func layerTar(binary []byte) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	// Writing to a bytes.Buffer cannot fail.
	_ = tw.WriteHeader(&tar.Header{Name: "function", Mode: 0o755, Size: int64(len(binary)), Typeflag: tar.TypeReg, Format: tar.FormatPAX})
	_, _ = tw.Write(binary)
	_ = tw.Close()
	return buf.Bytes()
}
