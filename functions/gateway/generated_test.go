package gateway_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/tigerstudio/studio/functions/gateway"
	"github.com/tigerstudio/studio/infra/testenv"
)

func generatedForm(t testing.TB) form {
	fm := validForm(t)
	fm.fields["style"] = "anime"
	return fm
}

// listedStyles is GET /v1/styles by id.
func (f *fixture) listedStyles(t *testing.T) map[string]map[string]any {
	t.Helper()
	r := f.get(t, "", "/v1/styles")
	if r.status != http.StatusOK {
		t.Fatalf("styles = %d %v", r.status, r.body)
	}
	out := map[string]map[string]any{}
	list, _ := r.body["styles"].([]any)
	for _, s := range list {
		m, _ := s.(map[string]any)
		id, _ := m["id"].(string)
		out[id] = m
	}
	return out
}

// TestStylesSayGenerated: the listing names the processor, model and dated
// list price of each generated style, and nothing of the kind for the
// local ones.
func TestStylesSayGenerated(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	styles := f.listedStyles(t)
	for _, id := range []string{"anime", "oil", "business", "hanbok"} {
		g, _ := styles[id]["generated"].(map[string]any)
		if g["processor"] != "Google Vertex AI" || g["model"] != "gemini-2.5-flash-image" || g["priceUSD"] != 0.039 ||
			g["priceAsOf"] == "" || g["available"] != true {
			t.Errorf("style %s: generated = %v", id, styles[id]["generated"])
		}
	}
	for _, id := range []string{"headshot", "bokeh", "sketch", "watercolour", "studio"} {
		if _, ok := styles[id]; !ok {
			t.Errorf("local style %s is not listed", id)
		}
		if g, ok := styles[id]["generated"]; ok {
			t.Errorf("local style %s says generated: %v", id, g)
		}
	}
}

// TestGeneratedBudget: with room for two generated images, two pass, the
// third is refused with 429 and the budget's message, leaves nothing and
// gives its rate-limit turn back; local styles still work, and the listing
// says the generated ones are no longer available.
func TestGeneratedBudget(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *gateway.Config) { c.GeneratedBudgetUSD = 0.08; c.PerMinute = 3 })
	user := f.stack.NewUser(t, testenv.UserOpts{EmailVerified: true})
	for i := range 2 {
		if r := f.submit(t, user.Token, generatedForm(t), nil); r.status != http.StatusAccepted {
			t.Fatalf("generated job %d: %d %v", i+1, r.status, r.body)
		}
	}
	before := len(f.requestsOf(t, user.UID))
	r := f.submit(t, user.Token, generatedForm(t), nil)
	if r.status != http.StatusTooManyRequests || r.errorCode() != "resource_exhausted" {
		t.Fatalf("past the budget: %d %v, want 429 resource_exhausted", r.status, r.body)
	}
	msg, _ := r.body["error"].(map[string]any)["message"].(string)
	if reason := r.body["error"].(map[string]any)["reason"]; reason != gateway.ReasonBudgetSpent {
		t.Errorf("refusal reason %v, want %s (the app must not retry it like a rate limit)", reason, gateway.ReasonBudgetSpent)
	}
	if ra := r.header.Get("Retry-After"); ra != "" {
		t.Errorf("the budget's refusal says Retry-After %s: it does not pass with time", ra)
	}
	if !strings.Contains(msg, "budget") || !strings.Contains(msg, "own styles") {
		t.Errorf("refusal message %q does not say the budget is spent and what still works", msg)
	}
	if got := len(f.requestsOf(t, user.UID)); got != before {
		t.Errorf("the refused job left a request: %d, want %d", got, before)
	}
	// Three a minute: this fits only if the refused job's turn came back.
	local := validForm(t)
	if r := f.submit(t, user.Token, local, nil); r.status != http.StatusAccepted {
		t.Fatalf("a local style past the budget: %d %v, want 202", r.status, r.body)
	}
	styles := f.listedStyles(t)
	if g, _ := styles["anime"]["generated"].(map[string]any); g["available"] != false {
		t.Errorf("anime after the budget: generated = %v, want available false", g)
	}
	snap, err := f.fs.Collection("budgets").Doc(f.cfg.Event).Get(testenv.Ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := snap.Data()["reservedMicros"]; got != int64(78000) {
		t.Errorf("reserved %v, want 78000 (two images at $0.039)", got)
	}
}

// TestGeneratedBudgetEdge: four attendees submit at once with room for one
// generated image: exactly one passes.
func TestGeneratedBudgetEdge(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *gateway.Config) { c.GeneratedBudgetUSD = 0.039 })
	const n = 4
	users := make([]testenv.User, n)
	for i := range users {
		users[i] = f.stack.NewUser(t, testenv.UserOpts{EmailVerified: true})
	}
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { statuses[i] = f.submit(t, users[i].Token, generatedForm(t), nil).status })
	}
	wg.Wait()
	passed := 0
	for _, s := range statuses {
		switch s {
		case http.StatusAccepted:
			passed++
		case http.StatusTooManyRequests:
		default:
			t.Errorf("status %d", s)
		}
	}
	if passed != 1 {
		t.Errorf("%d of %d concurrent generated jobs passed a budget for one (%v)", passed, n, statuses)
	}
}

// TestGeneratedBudgetUndo: a generated job whose request document cannot
// be written gives its reservation back, so the budget's one image is
// still there for the next submission.
func TestGeneratedBudgetUndo(t *testing.T) {
	t.Parallel()
	fail := &failOnce{}
	f := newFixtureWith(t, []gateway.Option{func(d *gateway.Deps) { d.Writer = failingWriter{d.Writer, fail} }},
		func(c *gateway.Config) { c.GeneratedBudgetUSD = 0.039 })
	user := f.stack.NewUser(t, testenv.UserOpts{EmailVerified: true})
	if r := f.submit(t, user.Token, generatedForm(t), nil); r.status != http.StatusServiceUnavailable {
		t.Fatalf("%d %v, want 503", r.status, r.body)
	}
	f.assertNothingLeft(t, user.UID)
	if r := f.submit(t, user.Token, generatedForm(t), nil); r.status != http.StatusAccepted {
		t.Fatalf("after the undo: %d %v, want 202 (the reservation given back)", r.status, r.body)
	}
}

// TestGeneratedStylesOff: GENERATED_STYLES=false lists the local styles
// only and refuses a generated one as unknown.
func TestGeneratedStylesOff(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *gateway.Config) { c.GeneratedStyles = false })
	styles := f.listedStyles(t)
	if _, ok := styles["anime"]; ok || len(styles) != 5 {
		t.Errorf("listed %d styles with generated ones off, anime among them: %v", len(styles), ok)
	}
	user := f.stack.NewUser(t, testenv.UserOpts{EmailVerified: true})
	r := f.submit(t, user.Token, generatedForm(t), nil)
	if r.status != http.StatusBadRequest || r.errorCode() != "invalid_argument" {
		t.Errorf("generated style with them off: %d %v, want 400 invalid_argument", r.status, r.body)
	}
}
