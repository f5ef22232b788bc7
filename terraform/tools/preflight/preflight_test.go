package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeGcloud answers gcloud commands by their first words (the longest
// matching prefix); an answer starting with ERROR fails, as do commands it
// does not know.
type fakeGcloud map[string]string

func (f fakeGcloud) run(_ context.Context, args ...string) ([]byte, error) {
	cmd := strings.Join(args, " ")
	best := ""
	for prefix := range f {
		if strings.HasPrefix(cmd, prefix) && len(prefix) > len(best) {
			best = prefix
		}
	}
	if best == "" {
		return nil, errors.New("ERROR: unexpected gcloud " + cmd)
	}
	out := f[best]
	if strings.HasPrefix(out, "ERROR") {
		return nil, errors.New(out)
	}
	return []byte(out), nil
}

const (
	quotaL4 = `[{"quotaId":"CPUAllocPerProjectRegion","quotaDisplayName":"CPU allocation, per project per region","dimensionsInfos":[{"dimensions":{"region":"europe-west4"},"details":{"value":"100"}}]},
{"quotaId":"NvidiaL4GpuAllocNoZonalRedundancyPerProjectRegion","quotaDisplayName":"Total Nvidia L4 GPU allocation without zonal redundancy, per project per region",
 "dimensionsInfos":[{"dimensions":{"region":"europe-west4"},"details":{"value":"3"}},{"dimensions":{"region":"us-central1"},"details":{"value":"0"}},{"details":{"value":"1"},"applicableLocations":["europe-west1"]}]}]`
	enforced    = `{"constraint":"constraints/x","booleanPolicy":{"enforced":true}}`
	notEnforced = `{"constraint":"constraints/x","booleanPolicy":{}}`
)

// allReady answers like a project where everything is in place.
func allReady(apis []string) fakeGcloud {
	return fakeGcloud{
		"billing projects describe p":                                                            `{"billingEnabled": true}`,
		"services list --enabled --project p":                                                    strings.Join(apis, "\n") + "\n",
		"beta quotas info list --service=run.googleapis.com --project=p":                         quotaL4,
		"resource-manager org-policies describe iam.disableServiceAccountCreation":               notEnforced,
		"resource-manager org-policies describe iam.allowedPolicyMemberDomains":                  `{"constraint":"constraints/iam.allowedPolicyMemberDomains"}`,
		"resource-manager org-policies describe iam.automaticIamGrantsForDefaultServiceAccounts": enforced,
		"auth print-access-token":                                                                "tok\n",
	}
}

func TestPreflight(t *testing.T) {
	dir := filepath.Join("..", "..") // terraform/
	apis, err := requiredAPIs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(apis) < 20 || !contains(apis, "run.googleapis.com") {
		t.Fatalf("requiredAPIs read %v from apis.tf", apis)
	}
	firebase := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("X-Goog-User-Project") == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/v1beta1/projects/p" {
			_, _ = w.Write([]byte(`{"projectId":"p"}`))
			return
		}
		http.NotFound(w, r)
	}))
	defer firebase.Close()

	bigVars := filepath.Join(t.TempDir(), "big.tfvars")
	if err := os.WriteFile(bigVars, []byte("worker_max_instances = 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		region  string
		varFile string
		project string // Firebase's view: "p" is a Firebase project
		edit    func(fakeGcloud)
		missing []string // check names reported MISSING
		unknown []string
		want    []string // in the report
	}{
		{name: "all ready", want: []string{"ready    GPU quota: 3 L4 in europe-west4 (worker_max_instances 1)", "ready    Firebase project", "enforced: default accounts hold no roles"}},
		{name: "more workers than quota", varFile: bigVars, missing: []string{"GPU quota"}, want: []string{"3 L4 in europe-west4, worker_max_instances needs 4", "fix: request at least 4"}},
		{name: "no L4 in the region", region: "us-central1", missing: []string{"GPU quota"}, want: []string{"0 L4 in us-central1"}},
		{name: "region covered by the default entry", region: "europe-west1", want: []string{"ready    GPU quota: 1 L4 in europe-west1"}},
		{name: "region without an entry", region: "asia-east1", missing: []string{"GPU quota"}, want: []string{"no L4 quota in asia-east1"}},
		{name: "quotas API off", edit: func(f fakeGcloud) {
			f["beta quotas info list --service=run.googleapis.com --project=p"] = "ERROR: API cloudquotas.googleapis.com not enabled"
		}, unknown: []string{"GPU quota"}, want: []string{"gcloud services enable cloudquotas.googleapis.com --project p"}},
		{name: "APIs off", edit: func(f fakeGcloud) { f["services list --enabled --project p"] = "run.googleapis.com\n" }, missing: []string{"APIs"}, want: []string{"not enabled: aiplatform.googleapis.com, artifactregistry.googleapis.com", "gcloud services enable aiplatform.googleapis.com artifactregistry.googleapis.com"}},
		{name: "no billing", edit: func(f fakeGcloud) { f["billing projects describe p"] = `{"billingEnabled": false}` }, missing: []string{"billing"}, want: []string{"gcloud billing projects link p"}},
		{name: "service accounts forbidden", edit: func(f fakeGcloud) {
			f["resource-manager org-policies describe iam.disableServiceAccountCreation"] = enforced
		}, missing: []string{"service account creation"}, want: []string{"disable-enforce iam.disableServiceAccountCreation --project p"}},
		{name: "domain-restricted sharing", edit: func(f fakeGcloud) {
			f["resource-manager org-policies describe iam.allowedPolicyMemberDomains"] = `{"listPolicy":{"allowedValues":["C0abc"]}}`
		}, missing: []string{"public Gateway"}, want: []string{"allUsers invoker grant fails"}},
		{name: "default grants not enforced", edit: func(f fakeGcloud) {
			f["resource-manager org-policies describe iam.automaticIamGrantsForDefaultServiceAccounts"] = notEnforced
		}, want: []string{"not enforced: default accounts hold Editor"}},
		{name: "not a Firebase project", project: "other", missing: []string{"Firebase project"}, want: []string{"404", "apply terraform/project once"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := allReady(apis)
			if c.edit != nil {
				c.edit(f)
			}
			region := c.region
			if region == "" {
				region = "europe-west4"
			}
			api := firebase.URL
			if c.project != "" {
				api = firebase.URL + "/x" // any other path answers 404
			}
			checks, err := preflight(context.Background(), config{project: "p", region: region, dir: dir, varFile: c.varFile, firebaseAPI: api, run: f.run, http: firebase.Client()})
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			anyMissing := report(&out, checks)
			if anyMissing != (len(c.missing) > 0) {
				t.Errorf("report says missing=%v:\n%s", anyMissing, out.String())
			}
			for _, ch := range checks {
				wantStatus := ready
				for _, m := range c.missing {
					if strings.HasPrefix(ch.name, m) {
						wantStatus = missing
					}
				}
				for _, m := range c.unknown {
					if strings.HasPrefix(ch.name, m) {
						wantStatus = unknown
					}
				}
				if ch.status != wantStatus {
					t.Errorf("%s: %s (%s), want %s", ch.name, ch.status, ch.detail, wantStatus)
				}
				if ch.status != ready && ch.fix == "" {
					t.Errorf("%s is %s without a fix", ch.name, ch.status)
				}
			}
			for _, w := range c.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("report lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}
