//go:build e2e || e2e_provider

package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Crossplane's TLS secrets, as `crossplane core init` creates them: its root
// CA, and its client certificate signed by that CA. In a cluster, the
// package runtime signs each Function's server certificate with the same CA;
// here the test does, for the function it runs.
const (
	secretRootCA    = "crossplane-root-ca"
	secretTLSClient = "crossplane-tls-client"
	keyCACert       = "ca.crt"
)

// writeSecretFiles writes a TLS secret's keys as files into dir, as a pod's
// secret volume would present them to Crossplane.
func writeSecretFiles(dir string, s *corev1.Secret) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, k := range []string{corev1.TLSCertKey, corev1.TLSPrivateKeyKey, keyCACert} {
		if len(s.Data[k]) == 0 {
			return errors.New("secret " + s.Name + " has no " + k)
		}
		if err := os.WriteFile(filepath.Join(dir, k), s.Data[k], 0o600); err != nil {
			return err
		}
	}
	return nil
}

// writeServerCert writes into dir a server certificate for the function at
// 127.0.0.1, signed by Crossplane's root CA, with that CA as the one the
// function verifies client certificates against: mTLS both ways.
func writeServerCert(dir string, ca *corev1.Secret) error {
	caCert, caKey, err := parseCA(ca)
	if err != nil {
		return err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "function-kms-backend"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := writePEM(filepath.Join(dir, corev1.TLSCertKey), "CERTIFICATE", der); err != nil {
		return err
	}
	if err := writePEM(filepath.Join(dir, corev1.TLSPrivateKeyKey), "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, keyCACert), ca.Data[corev1.TLSCertKey], 0o600)
}

func parseCA(s *corev1.Secret) (*x509.Certificate, *rsa.PrivateKey, error) {
	cb, _ := pem.Decode(s.Data[corev1.TLSCertKey])
	kb, _ := pem.Decode(s.Data[corev1.TLSPrivateKeyKey])
	if cb == nil || kb == nil {
		return nil, nil, errors.New("secret " + s.Name + " holds no PEM certificate and key")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	key, err := x509.ParsePKCS1PrivateKey(kb.Bytes)
	return cert, key, err
}
