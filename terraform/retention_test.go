package terraform_test

import (
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tigerstudio/studio/functions/gateway"
	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/store"
)

// The event's one retention setting (issue 25): var.retention_days drives the
// buckets' lifecycle, the Gateway's expireAt on every job (RETENTION_DAYS),
// Firestore's TTL policy on the collections whose documents carry expireAt,
// and the days the consent text states (retentionDays in /studio.json, from
// the retention_days output). Its default is the local stack's and the
// Gateway's, so the promise and the deletion cannot drift apart.
func TestRetentionOneSetting(t *testing.T) {
	c := loadConfig(t, ".")
	src := func(b block, a string) string {
		t.Helper()
		attr, ok := b.Body.Attributes[a]
		if !ok {
			t.Fatalf("%s %v has no %s", b.Type, b.Labels, a)
		}
		return exprText(t, c, b.file, attr)
	}

	// The default: terraform, the Gateway and the local stack agree.
	var def string
	for _, b := range c.blocks {
		if b.Type == "variable" && b.Labels[0] == "retention_days" {
			def = src(b, "default")
		}
	}
	var cfg gateway.Config
	field, _ := reflect.TypeOf(cfg).FieldByName("RetentionDays")
	if tag := field.Tag.Get("env"); tag != "RETENTION_DAYS, default="+def {
		t.Errorf("the Gateway's %q disagrees with var.retention_days's default %s", tag, def)
	}
	if stack := mustRead(t, "../emulators/stack.sh"); !strings.Contains(stack, "RETENTION_DAYS=${RETENTION_DAYS:-"+def+"}") {
		t.Errorf("emulators/stack.sh's default RETENTION_DAYS is not %s", def)
	}

	// The buckets: input and output, one declaration (for_each).
	jb := c.resource(t, "resource", "google_storage_bucket", "jobs")
	if got := c.instances(t, jb); !slices.Equal(got, []string{"input", "output"}) {
		t.Errorf("the job buckets are %v, want [input output]", got)
	}
	rule := child(jb.Block, "lifecycle_rule")
	if cond := child(rule, "condition"); cond == nil || exprText(t, c, jb.file, cond.Body.Attributes["age"]) != "var.retention_days" {
		t.Error("the input and output buckets are not emptied after var.retention_days")
	}

	// The Gateway's expireAt, and the consent's days.
	found := false
	for _, b := range c.blocks {
		if b.Type == "locals" {
			if _, ok := b.Body.Attributes["gateway_env"]; ok {
				found = true
				if !regexp.MustCompile(`RETENTION_DAYS\s*=\s*tostring\(var\.retention_days\)`).MatchString(src(b, "gateway_env")) {
					t.Error("the Gateway's RETENTION_DAYS is not var.retention_days")
				}
			}
		}
		if b.Type == "output" && b.Labels[0] == "retention_days" && src(b, "value") != "var.retention_days" {
			t.Error("output retention_days (studio.json's retentionDays) is not var.retention_days")
		}
	}
	if !found {
		t.Error("local.gateway_env is gone")
	}
	if !strings.Contains(mustRead(t, "deploy-web.sh"), `retentionDays: output("retention_days")`) {
		t.Error("deploy-web.sh does not write retentionDays into studio.json")
	}

	// Firestore's TTL: exactly the collections whose documents carry
	// expireAt, each written with it.
	carriers := map[string]any{
		store.Requests: jobs.Request{}, store.Responses: jobs.Response{}, store.Errors: jobs.Failure{},
		store.Notifications: store.Notification{}, store.Devices: store.Device{},
	}
	var want []string
	for coll, doc := range carriers {
		typ := reflect.TypeOf(doc)
		has := false
		for i := range typ.NumField() {
			if strings.Split(typ.Field(i).Tag.Get("firestore"), ",")[0] == "expireAt" {
				has = true
			}
		}
		if !has {
			t.Errorf("%s documents (%s) carry no expireAt", coll, typ)
		}
		want = append(want, coll)
	}
	slices.Sort(want)
	ttl := c.resource(t, "resource", "google_firestore_field", "expire_at")
	if got := src(ttl, "field"); got != `"expireAt"` {
		t.Errorf("the TTL field is %s, want \"expireAt\"", got)
	}
	if child(ttl.Block, "ttl_config") == nil {
		t.Error("google_firestore_field.expire_at has no ttl_config")
	}
	var got []string
	for _, b := range c.blocks {
		if a, ok := b.Body.Attributes["ttl_collections"]; ok && b.Type == "locals" {
			for _, m := range regexp.MustCompile(`"([a-z]+)"`).FindAllStringSubmatch(exprText(t, c, b.file, a), -1) {
				got = append(got, m[1])
			}
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("TTL policies on %v, want on %v", got, want)
	}
}
