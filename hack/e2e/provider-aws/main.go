//go:build ignore

// The provider-aws KMS controllers the real-provider e2e suite runs: the
// Key, Alias and ReplicaKey controllers of both groups (kms.aws.upbound.io
// and kms.aws.m.upbound.io), as provider-aws' KMS family provider runs them
// (cmd/provider/kms/zz_main.go of the pinned version), and nothing else.
// The family provider links every AWS service's types and controllers, and
// its Terraform provider every AWS service; this main links none of the
// other services' controllers, and is built with a Terraform provider that
// registers the KMS service only (sdkv2/ and conns/ next to this file), so
// that CI can build it from cold.
//
// The controllers are internal packages of provider-aws, so this file is
// compiled as a command of provider-aws' own module: hack/e2e/install.sh
// copies it into a writable copy of the module. The ignore tag keeps it out
// of this repository's builds.
package main

import (
	"context"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
	xpcontroller "github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/feature"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/ratelimiter"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/statemetrics"
	upjetconfig "github.com/crossplane/upjet/v2/pkg/config"
	tjcontroller "github.com/crossplane/upjet/v2/pkg/controller"
	"github.com/hashicorp/terraform-provider-aws/xpprovider"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	clusterkms "github.com/upbound/provider-aws/v2/apis/cluster/kms/v1beta1"
	clusterv1beta1 "github.com/upbound/provider-aws/v2/apis/cluster/v1beta1"
	namespacedkms "github.com/upbound/provider-aws/v2/apis/namespaced/kms/v1beta1"
	namespacedv1beta1 "github.com/upbound/provider-aws/v2/apis/namespaced/v1beta1"
	"github.com/upbound/provider-aws/v2/config"
	resolverapis "github.com/upbound/provider-aws/v2/internal/apis"
	"github.com/upbound/provider-aws/v2/internal/clients"
	clusteralias "github.com/upbound/provider-aws/v2/internal/controller/cluster/kms/alias"
	clusterkey "github.com/upbound/provider-aws/v2/internal/controller/cluster/kms/key"
	clusterreplicakey "github.com/upbound/provider-aws/v2/internal/controller/cluster/kms/replicakey"
	namespacedalias "github.com/upbound/provider-aws/v2/internal/controller/namespaced/kms/alias"
	namespacedkey "github.com/upbound/provider-aws/v2/internal/controller/namespaced/kms/key"
	namespacedreplicakey "github.com/upbound/provider-aws/v2/internal/controller/namespaced/kms/replicakey"
	"github.com/upbound/provider-aws/v2/internal/features"
)

func main() {
	var (
		app                = kingpin.New(filepath.Base(os.Args[0]), "provider-aws' KMS Key, Alias and ReplicaKey controllers, for the e2e suite.").DefaultEnvars()
		debug              = app.Flag("debug", "Run with debug logging.").Short('d').Bool()
		syncInterval       = app.Flag("sync", "How often all resources are checked for drift.").Short('s').Default("1h").Duration()
		pollInterval       = app.Flag("poll", "How often one resource is checked for drift.").Default("10m").Duration()
		maxReconcileRate   = app.Flag("max-reconcile-rate", "The most resources checked for drift per second.").Default("100").Int()
		metricsBindAddress = app.Flag("metrics-bind-address", "The address the metrics server listens on.").Default(":8080").String()
		healthProbeAddress = app.Flag("health-probe-bind-addr", "The address the health and readiness probes listen on.").Default(":8081").String()
	)
	kingpin.MustParse(app.Parse(os.Args[1:]))
	log.Default().SetOutput(io.Discard)
	ctrl.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	zl := zap.New(zap.UseDevMode(*debug))
	logr := logging.NewLogrLogger(zl.WithName("provider-aws"))

	cfg, err := ctrl.GetConfig()
	kingpin.FatalIfError(err, "Cannot get API server rest config")
	mgr, err := ctrl.NewManager(ratelimiter.LimitRESTConfig(cfg, *maxReconcileRate), ctrl.Options{
		Cache:                  cache.Options{SyncPeriod: syncInterval},
		Metrics:                metricsserver.Options{BindAddress: *metricsBindAddress},
		HealthProbeBindAddress: *healthProbeAddress,
	})
	kingpin.FatalIfError(err, "Cannot create controller manager")
	kingpin.FatalIfError(mgr.AddHealthzCheck("ping", func(_ *http.Request) error { return nil }), "Cannot add the health check")
	kingpin.FatalIfError(mgr.AddReadyzCheck("ping", func(_ *http.Request) error { return nil }), "Cannot add the readiness check")

	// The manager's scheme and the one the Alias's and the ReplicaKey's
	// references to their Key are resolved with: the KMS kinds and the
	// provider configs, of both groups.
	kinds := runtime.SchemeBuilder{clusterkms.AddToScheme, clusterv1beta1.SchemeBuilder.AddToScheme, namespacedkms.AddToScheme, namespacedv1beta1.SchemeBuilder.AddToScheme}
	kingpin.FatalIfError(kinds.AddToScheme(mgr.GetScheme()), "Cannot add the KMS APIs to the scheme")
	kingpin.FatalIfError(resolverapis.BuildScheme(kinds), "Cannot register the KMS APIs with the API resolver's scheme")

	metricRecorder := managed.NewMRMetricRecorder()
	stateMetrics := statemetrics.NewMRStateMetrics()
	metrics.Registry.MustRegister(metricRecorder)
	metrics.Registry.MustRegister(stateMetrics)

	ctx := context.Background()
	fwProvider, sdkProvider, err := xpprovider.GetProvider(ctx)
	kingpin.FatalIfError(err, "Cannot get the Terraform framework and SDK providers")
	// The Terraform provider has the KMS service only, and upjet panics on a
	// configured resource whose Terraform schema is missing: configure the
	// KMS resources only. Each is configured as before; the others have no
	// controller here.
	for _, configs := range []map[string]upjetconfig.ExternalName{
		config.TerraformPluginSDKExternalNameConfigs,
		config.TerraformPluginFrameworkExternalNameConfigs,
		config.CLIReconciledExternalNameConfigs,
	} {
		for name := range configs {
			if !strings.HasPrefix(name, "aws_kms_") {
				delete(configs, name)
			}
		}
	}
	// Configuring the other services' resources changes the KMS keys'
	// Terraform schemas too, in the family provider: the Terraform provider
	// shares one schema object among resources for an optional IAM policy,
	// and one for tags, and provider-aws moves to the status
	// aws_api_gateway_rest_api's policy (and aws_opensearch_domain's
	// access_policies) and aws_s3_bucket's lifecycle_rule and
	// replication_configuration, with their tags. That leaves policy and
	// tags Computed only, not Optional, for every resource sharing them, the
	// KMS keys among them. Those resources are not configured here: make the
	// same change, so that the Key and ReplicaKey controllers diff as the
	// family provider's do.
	for _, name := range []string{"aws_kms_key", "aws_kms_replica_key"} {
		upjetconfig.MoveToStatus(sdkProvider.ResourcesMap[name], "policy", "tags")
	}
	clusterProvider, err := config.GetProvider(ctx, fwProvider, sdkProvider, false, false)
	kingpin.FatalIfError(err, "Cannot initialize the cluster provider configuration")
	namespacedProvider, err := config.GetProviderNamespaced(ctx, fwProvider, sdkProvider, false, false)
	kingpin.FatalIfError(err, "Cannot initialize the namespaced provider configuration")

	// The family provider's options, with its defaults: a jitter of 5% of
	// the poll interval, management policies on.
	options := func(p *upjetconfig.Provider) tjcontroller.Options {
		o := tjcontroller.Options{
			Options: xpcontroller.Options{
				Logger:                  logr,
				GlobalRateLimiter:       ratelimiter.NewGlobal(*maxReconcileRate),
				PollInterval:            *pollInterval,
				MaxConcurrentReconciles: *maxReconcileRate,
				Features:                &feature.Flags{},
				MetricOptions: &xpcontroller.MetricOptions{
					PollStateMetricInterval: 5 * time.Second,
					MRMetrics:               metricRecorder,
					MRStateMetrics:          stateMetrics,
				},
			},
			Provider:              p,
			SetupFn:               clients.SelectTerraformSetup(&clients.SetupConfig{Logger: logr, TerraformProvider: p.TerraformProvider}),
			PollJitter:            time.Duration(float64(*pollInterval) * 0.05),
			OperationTrackerStore: tjcontroller.NewOperationStore(logr),
		}
		o.Features.Enable(features.EnableBetaManagementPolicies)
		return o
	}
	cluster, namespaced := options(clusterProvider), options(namespacedProvider)
	for _, setup := range []func() error{
		func() error { return clusterkey.Setup(mgr, cluster) },
		func() error { return clusteralias.Setup(mgr, cluster) },
		func() error { return clusterreplicakey.Setup(mgr, cluster) },
		func() error { return namespacedkey.Setup(mgr, namespaced) },
		func() error { return namespacedalias.Setup(mgr, namespaced) },
		func() error { return namespacedreplicakey.Setup(mgr, namespaced) },
	} {
		kingpin.FatalIfError(setup(), "Cannot set up the KMS controllers")
	}
	logr.Debug("Starting", "sync-interval", syncInterval.String(), "poll-interval", pollInterval.String())
	kingpin.FatalIfError(mgr.Start(ctrl.SetupSignalHandler()), "Cannot start controller manager")
}
