// Command preflight asks a Google Cloud project, before make deploy's first
// apply, for what an apply cannot show in time: billing, the APIs, the GPU
// quota the worker pool needs in the region (the pool starts at 0
// instances, so an apply succeeds without it and only the first scale-up
// fails, in the autoscaler's logs), the organization policies that stop
// the stack's grants, and the Firebase project. It prints each as ready or
// missing, with the command that fixes it, and exits 1 when one is
// missing. Checks it cannot make (an API of its own off, no permission)
// print as unknown and do not stop the deploy.
//
//	go run ./terraform/tools/preflight -project P -region R [-var-file terraform/x.tfvars]
//
// It only reads: gcloud's list/describe commands and one GET of the
// Firebase Management API.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

func main() {
	var cfg config
	flag.StringVar(&cfg.project, "project", "", "the Google Cloud project")
	flag.StringVar(&cfg.region, "region", "", "the event's region")
	flag.StringVar(&cfg.dir, "dir", "terraform", "the event stack (its apis.tf and variables.tf)")
	flag.StringVar(&cfg.varFile, "var-file", "", "the event's tfvars (worker_max_instances)")
	flag.StringVar(&cfg.firebaseAPI, "firebase-api", envOr("PREFLIGHT_FIREBASE_API", "https://firebase.googleapis.com"), "Firebase Management API base URL")
	flag.Parse()
	if cfg.project == "" || cfg.region == "" {
		fmt.Fprintln(os.Stderr, "preflight: -project and -region are required")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg.run = gcloud
	cfg.http = http.DefaultClient
	checks, err := preflight(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "preflight:", err)
		os.Exit(2)
	}
	fmt.Printf("preflight for project %s, region %s:\n", cfg.project, cfg.region)
	if report(os.Stdout, checks) {
		fmt.Println("preflight: missing items above; fix them and run make deploy again (PREFLIGHT=0 skips this check)")
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// gcloud runs gcloud with args and returns its standard output.
func gcloud(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "gcloud", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("gcloud %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

type config struct {
	project, region, dir, varFile, firebaseAPI string

	run  func(ctx context.Context, args ...string) ([]byte, error)
	http *http.Client
}

type status int

const (
	ready status = iota
	missing
	unknown
)

func (s status) String() string {
	return [...]string{"ready", "MISSING", "unknown"}[s]
}

// check is one line of the report.
type check struct {
	name   string
	status status
	detail string
	fix    string // the command (or step) that fixes it
}

// report prints the checks and says whether one is missing.
func report(w io.Writer, checks []check) (anyMissing bool) {
	for _, c := range checks {
		fmt.Fprintf(w, "  %-8s %s: %s\n", c.status, c.name, c.detail)
		if c.status != ready && c.fix != "" {
			fmt.Fprintf(w, "           fix: %s\n", c.fix)
		}
		anyMissing = anyMissing || c.status == missing
	}
	return anyMissing
}

func preflight(ctx context.Context, cfg config) ([]check, error) {
	apis, err := requiredAPIs(cfg.dir)
	if err != nil {
		return nil, err
	}
	gpus, err := workerMaxInstances(cfg.dir, cfg.varFile)
	if err != nil {
		return nil, err
	}
	return []check{
		billingCheck(ctx, cfg),
		apiCheck(ctx, cfg, apis),
		gpuCheck(ctx, cfg, gpus),
		saCreationCheck(ctx, cfg),
		publicInvokerCheck(ctx, cfg),
		defaultGrantsCheck(ctx, cfg),
		firebaseCheck(ctx, cfg),
	}, nil
}

func billingCheck(ctx context.Context, cfg config) check {
	c := check{name: "billing", fix: "gcloud billing projects link " + cfg.project + " --billing-account=ACCOUNT_ID"}
	out, err := cfg.run(ctx, "billing", "projects", "describe", cfg.project, "--format=json")
	var info struct {
		BillingEnabled bool `json:"billingEnabled"`
	}
	if err == nil {
		err = json.Unmarshal(out, &info)
	}
	switch {
	case err != nil:
		c.status, c.detail = unknown, "could not read: "+firstLine(err)
	case info.BillingEnabled:
		c.detail = "enabled"
	default:
		c.status, c.detail = missing, "no billing account (Identity Platform, GPUs and Cloud Build need one)"
	}
	return c
}

func apiCheck(ctx context.Context, cfg config, want []string) check {
	c := check{name: "APIs"}
	out, err := cfg.run(ctx, "services", "list", "--enabled", "--project", cfg.project, "--format=value(config.name)")
	if err != nil {
		c.status, c.detail = unknown, "could not list: "+firstLine(err)
		c.fix = "gcloud services enable " + strings.Join(want, " ") + " --project " + cfg.project
		return c
	}
	on := map[string]bool{}
	for _, l := range strings.Fields(string(out)) {
		on[l] = true
	}
	var off []string
	for _, a := range want {
		if !on[a] {
			off = append(off, a)
		}
	}
	if len(off) == 0 {
		c.detail = fmt.Sprintf("the %d the stack uses are enabled", len(want))
		return c
	}
	c.status = missing
	c.detail = "not enabled: " + strings.Join(off, ", ")
	c.fix = "apply terraform/project once (README.md, \"Once per project\"), or gcloud services enable " + strings.Join(off, " ") + " --project " + cfg.project
	return c
}

// The quota the worker pool draws on: Cloud Run's "Total Nvidia L4 GPU
// allocation without zonal redundancy, per project per region" (the pool
// sets gpu_zonal_redundancy_disabled). Matched by its name rather than an
// id, which the docs do not give.
func isL4NoZonalQuota(q quotaInfo) bool {
	s := strings.ToLower(q.QuotaID + " " + q.QuotaDisplayName + " " + q.MetricDisplayName)
	return strings.Contains(s, "l4") && (strings.Contains(s, "without zonal redundancy") || strings.Contains(s, "nozonalredundancy") || strings.Contains(s, "no zonal redundancy"))
}

type quotaInfo struct {
	QuotaID           string `json:"quotaId"`
	QuotaDisplayName  string `json:"quotaDisplayName"`
	MetricDisplayName string `json:"metricDisplayName"`
	DimensionsInfos   []struct {
		Dimensions map[string]string `json:"dimensions"`
		Details    struct {
			Value json.RawMessage `json:"value"` // int64: a string in JSON
		} `json:"details"`
		ApplicableLocations []string `json:"applicableLocations"`
	} `json:"dimensionsInfos"`
}

func gpuCheck(ctx context.Context, cfg config, need int) check {
	c := check{name: "GPU quota", fix: fmt.Sprintf("request at least %d in the console: IAM & Admin > Quotas, service Cloud Run Admin API, \"Total Nvidia L4 GPU allocation without zonal redundancy, per project per region\", region %s (or pick a region that has it: -var region / REGION=)", need, cfg.region)}
	out, err := cfg.run(ctx, "beta", "quotas", "info", "list", "--service=run.googleapis.com", "--project="+cfg.project, "--format=json")
	var infos []quotaInfo
	if err == nil {
		err = json.Unmarshal(out, &infos)
	}
	if err != nil {
		c.status, c.detail = unknown, "could not read Cloud Run's quotas: "+firstLine(err)
		c.fix = "gcloud services enable cloudquotas.googleapis.com --project " + cfg.project + ", or check in the console: " + c.fix
		return c
	}
	for _, q := range infos {
		if !isL4NoZonalQuota(q) {
			continue
		}
		// The entry for the region, else the default one (no dimensions).
		val, found := int64(-1), false
		for _, d := range q.DimensionsInfos {
			region := d.Dimensions["region"]
			if region == cfg.region || (!found && region == "" && (len(d.ApplicableLocations) == 0 || contains(d.ApplicableLocations, cfg.region))) {
				if v, err := int64Of(d.Details.Value); err == nil {
					val, found = v, region == cfg.region
				}
			}
		}
		switch {
		case val < 0:
			c.status, c.detail = missing, "no L4 quota in "+cfg.region+" (the region may have no Cloud Run L4s)"
		case val < int64(need):
			c.status, c.detail = missing, fmt.Sprintf("%d L4 in %s, worker_max_instances needs %d", val, cfg.region, need)
		default:
			c.detail = fmt.Sprintf("%d L4 in %s (worker_max_instances %d)", val, cfg.region, need)
		}
		return c
	}
	c.status, c.detail = missing, "Cloud Run lists no L4 quota without zonal redundancy for this project"
	return c
}

func int64Of(raw json.RawMessage) (int64, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strconv.ParseInt(s, 10, 64)
	}
	var n int64
	err := json.Unmarshal(raw, &n)
	return n, err
}

// orgPolicy is the effective policy of a constraint on the project
// (gcloud resource-manager org-policies describe --effective).
type orgPolicy struct {
	BooleanPolicy *struct {
		Enforced bool `json:"enforced"`
	} `json:"booleanPolicy"`
	ListPolicy *struct {
		AllowedValues []string `json:"allowedValues"`
		DeniedValues  []string `json:"deniedValues"`
		AllValues     string   `json:"allValues"` // ALLOW, DENY
	} `json:"listPolicy"`
}

func describePolicy(ctx context.Context, cfg config, constraint string) (orgPolicy, error) {
	var p orgPolicy
	out, err := cfg.run(ctx, "resource-manager", "org-policies", "describe", constraint, "--project", cfg.project, "--effective", "--format=json")
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(out, &p); err != nil {
		return p, fmt.Errorf("%s: %w", constraint, err)
	}
	return p, nil
}

// policyCheck reads constraint's effective policy on the project and has
// judge say what it means for the stack; a policy it cannot read is
// unknown, as every check it cannot make.
func policyCheck(ctx context.Context, cfg config, what, constraint string, judge func(orgPolicy, *check)) check {
	c := check{name: what + " (org policy " + constraint + ")"}
	p, err := describePolicy(ctx, cfg, constraint)
	if err != nil {
		c.status, c.detail = unknown, "could not read: "+firstLine(err)
		return c
	}
	judge(p, &c)
	return c
}

// Every component has its own service account: with
// iam.disableServiceAccountCreation enforced the first apply fails.
func saCreationCheck(ctx context.Context, cfg config) check {
	return policyCheck(ctx, cfg, "service account creation", "iam.disableServiceAccountCreation", func(p orgPolicy, c *check) {
		if p.BooleanPolicy != nil && p.BooleanPolicy.Enforced {
			c.status, c.detail = missing, "enforced: the stack creates one service account per component"
			c.fix = "an organization policy administrator: gcloud resource-manager org-policies disable-enforce iam.disableServiceAccountCreation --project " + cfg.project
			return
		}
		c.detail = "allowed"
	})
}

// The Gateway is public (allUsers may invoke it; it checks Firebase ID
// tokens itself): iam.allowedPolicyMemberDomains with a list of domains
// refuses that grant.
func publicInvokerCheck(ctx context.Context, cfg config) check {
	return policyCheck(ctx, cfg, "public Gateway", "iam.allowedPolicyMemberDomains", func(p orgPolicy, c *check) {
		if p.ListPolicy != nil && (p.ListPolicy.AllValues == "DENY" || len(p.ListPolicy.AllowedValues) > 0) {
			c.status, c.detail = missing, "only listed domains may be granted roles: the Gateway's allUsers invoker grant fails"
			c.fix = "an organization policy administrator allows all values of iam.allowedPolicyMemberDomains on project " + cfg.project + " (gcloud org-policies set-policy with rules: [allowAll: true]; README.md, \"Before you start\")"
			return
		}
		c.detail = "allUsers may be granted"
	})
}

// iam.automaticIamGrantsForDefaultServiceAccounts (enforced by default in
// new organizations) leaves the Compute Engine default account, which
// Cloud Build and function builds use when no account is named, without
// roles. The stack names its own account for every build and runtime
// (EVENT-build; make deploy's image build too), so either way it is ready;
// the line says which case holds, for whoever builds by hand.
func defaultGrantsCheck(ctx context.Context, cfg config) check {
	return policyCheck(ctx, cfg, "default service accounts", "iam.automaticIamGrantsForDefaultServiceAccounts", func(p orgPolicy, c *check) {
		if p.BooleanPolicy != nil && p.BooleanPolicy.Enforced {
			c.detail = "enforced: default accounts hold no roles; every build here runs as EVENT-build, so none is needed (a gcloud builds submit by hand needs --service-account)"
			return
		}
		c.detail = "not enforced: default accounts hold Editor; none is used here"
	})
}

// The event's web app and Hosting site hang off the Firebase project that
// terraform/project adds (add_firebase).
func firebaseCheck(ctx context.Context, cfg config) check {
	c := check{name: "Firebase project", fix: "apply terraform/project once (README.md, \"Once per project\"; it adds Firebase unless add_firebase = false)"}
	tok, err := cfg.run(ctx, "auth", "print-access-token")
	if err != nil {
		c.status, c.detail = unknown, "no access token: "+firstLine(err)
		return c
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(cfg.firebaseAPI, "/")+"/v1beta1/projects/"+cfg.project, nil)
	if err != nil {
		c.status, c.detail = unknown, err.Error()
		return c
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	req.Header.Set("X-Goog-User-Project", cfg.project)
	resp, err := cfg.http.Do(req)
	if err != nil {
		c.status, c.detail = unknown, "could not ask the Firebase Management API: "+firstLine(err)
		return c
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	switch resp.StatusCode {
	case http.StatusOK:
		c.detail = "the project is a Firebase project"
	case http.StatusNotFound, http.StatusForbidden:
		// Firebase answers 403 for a project that is not (yet) a Firebase
		// project as well as for one the caller cannot see.
		c.status, c.detail = missing, fmt.Sprintf("not a Firebase project (Firebase Management API: %s)", resp.Status)
	default:
		c.status, c.detail = unknown, "Firebase Management API: "+resp.Status
	}
	return c
}

// requiredAPIs reads the stack's API list (local.services in apis.tf).
func requiredAPIs(dir string) ([]string, error) {
	path := filepath.Join(dir, "apis.tf")
	attr, err := findAttr(path, "locals", "services")
	if err != nil {
		return nil, err
	}
	// toset([...]): evaluate the list inside.
	call, ok := attr.Expr.(*hclsyntax.FunctionCallExpr)
	if !ok || call.Name != "toset" || len(call.Args) != 1 {
		return nil, fmt.Errorf("%s: local.services is not toset([...])", path)
	}
	v, diags := call.Args[0].Value(nil)
	if diags.HasErrors() {
		return nil, fmt.Errorf("%s: %w", path, diags)
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		out = append(out, e.AsString())
	}
	sort.Strings(out)
	return out, nil
}

// workerMaxInstances is worker_max_instances from the tfvars file, else its
// default in variables.tf: the L4s the pool may take at once.
func workerMaxInstances(dir, varFile string) (int, error) {
	if varFile != "" {
		f, diags := hclparse.NewParser().ParseHCLFile(varFile)
		if diags.HasErrors() {
			return 0, fmt.Errorf("%s: %w", varFile, diags)
		}
		if a, ok := f.Body.(*hclsyntax.Body).Attributes["worker_max_instances"]; ok {
			return intValue(varFile, a)
		}
	}
	a, err := findAttr(filepath.Join(dir, "variables.tf"), "variable", "worker_max_instances", "default")
	if err != nil {
		return 0, err
	}
	return intValue("variables.tf", a)
}

func intValue(file string, a *hclsyntax.Attribute) (int, error) {
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() || v.Type() != cty.Number {
		return 0, fmt.Errorf("%s: worker_max_instances is not a number", file)
	}
	n, _ := v.AsBigFloat().Int64()
	return int(n), nil
}

// findAttr returns the attribute name in the first block of type typ (with
// label, for a labelled block such as variable) of file. For locals, label
// is the attribute's name and name is empty.
func findAttr(file, typ string, label string, name ...string) (*hclsyntax.Attribute, error) {
	f, diags := hclparse.NewParser().ParseHCLFile(file)
	if diags.HasErrors() {
		return nil, fmt.Errorf("%s: %w", file, diags)
	}
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if b.Type != typ {
			continue
		}
		if typ == "locals" {
			if a, ok := b.Body.Attributes[label]; ok {
				return a, nil
			}
			continue
		}
		if len(b.Labels) == 1 && b.Labels[0] == label && len(name) == 1 {
			if a, ok := b.Body.Attributes[name[0]]; ok {
				return a, nil
			}
		}
	}
	return nil, fmt.Errorf("%s: no %s %s", file, typ, label)
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
