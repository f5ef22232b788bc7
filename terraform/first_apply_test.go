package terraform_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Without probes (google-beta 6.50.0 has none on worker pools) the worker's
// health shows in two logs-based metrics on the pool's logs. Their filters
// name the event's pool and the exact messages the queue consumer logs
// (infra/queue) under the key the worker's JSON logs use (infra/logging),
// so renaming either message breaks this test, not the metric silently.
func TestWorkerHealthMetrics(t *testing.T) {
	c := loadConfig(t, ".")
	consumer := mustRead(t, "../infra/queue/consumer.go")
	logging := mustRead(t, "../infra/logging/logging.go")
	if !strings.Contains(logging, `a.Key = "message"`) {
		t.Fatal("infra/logging no longer writes the message under \"message\": the metrics' jsonPayload.message filters match nothing")
	}
	pool := c.resource(t, "resource", "google_cloud_run_v2_worker_pool", "worker")
	filterLocal := ""
	for _, b := range c.blocks {
		if b.Type == "locals" {
			if a, ok := b.Body.Attributes["worker_log_filter"]; ok {
				filterLocal = exprText(t, c, b.file, a)
			}
		}
	}
	if !strings.Contains(filterLocal, `resource.type=\"cloud_run_worker_pool\"`) || !strings.Contains(filterLocal, `worker_pool_name=\"${var.event}-worker\"`) {
		t.Errorf("local.worker_log_filter does not select the event's worker pool: %s", filterLocal)
	}
	if !strings.Contains(exprText(t, c, pool.file, pool.Body.Attributes["name"]), `"${var.event}-worker"`) {
		t.Error("the worker pool is no longer named ${var.event}-worker, which the metrics' filter names")
	}
	cases := []struct{ metric, message, call string }{
		{"worker_consuming", "consuming", `Logger.Info("consuming"`},
		{"worker_broker_lost", "broker session ended; reconnecting", `Logger.Warn("broker session ended; reconnecting"`},
	}
	for _, tc := range cases {
		m := c.resource(t, "resource", "google_logging_metric", tc.metric)
		f := exprText(t, c, m.file, m.Body.Attributes["filter"])
		if !strings.Contains(f, "local.worker_log_filter") || !strings.Contains(f, `jsonPayload.message=\"`+tc.message+`\"`) {
			t.Errorf("metric %s: filter %s does not count %q on the worker pool", tc.metric, f, tc.message)
		}
		if !strings.Contains(consumer, tc.call) {
			t.Errorf("infra/queue/consumer.go no longer logs %s: metric %s counts nothing", tc.call, tc.metric)
		}
	}
}

// Every resource that runs as one of the event's service accounts (a
// function's build and runtime, the worker pool, the autoscaler, the
// broker VM, the Eventarc triggers, the Scheduler jobs) waits at least 60 s
// after each grant to that account: it depends on a time_sleep that
// depends on the grant (directly or through another wait). A grant that
// appears only later (count) must also be among the wait's triggers, or
// the wait, created with the first apply, would not wait for it.
// project/'s AuthBlocking (its build and runtime) is held to the same.
func TestIAMPropagationWaits(t *testing.T) {
	for dir, min := range map[string]int{".": 9, "project": 1} {
		t.Run(dir, func(t *testing.T) { checkIAMPropagationWaits(t, loadConfig(t, dir), min) })
	}
}

func checkIAMPropagationWaits(t *testing.T, c *config, minConsumers int) {
	res := map[string]block{}
	for _, b := range c.blocks {
		if b.Type == "resource" && len(b.Labels) == 2 {
			res[b.addr()] = b
		}
	}
	grants := map[string][]string{} // account -> grants to it
	for addr, b := range res {
		if !strings.HasSuffix(b.Labels[0], "_iam_member") {
			continue
		}
		for _, acct := range grantAccounts(t, c, b) {
			grants[acct] = append(grants[acct], addr)
		}
	}
	consumers := 0
	for addr, b := range res {
		if strings.HasSuffix(b.Labels[0], "_iam_member") || b.Labels[0] == "google_service_account" {
			continue
		}
		accts := map[string]bool{}
		walkBlocks(b.Block, func(n *hclsyntax.Block) {
			for name, a := range n.Body.Attributes {
				if name == "service_account" || name == "service_account_email" || name == "email" {
					for _, acct := range accountRefs(c, a.Expr) {
						accts[acct] = true
					}
				}
			}
		})
		if len(accts) == 0 {
			continue
		}
		consumers++
		waits := map[string]bool{} // the time_sleeps addr depends on
		for _, d := range dependsOn(t, b) {
			if strings.HasPrefix(d, "time_sleep.") {
				waits[d] = true
			}
		}
		for _, acct := range sortedKeys(accts) {
			for _, g := range grants[acct] {
				s := waitFor(t, res, waits, g)
				if s == "" {
					t.Errorf("%s runs as %s but does not wait (time_sleep, depends_on) after its grant %s", addr, acct, g)
					continue
				}
				if _, counted := res[g].Body.Attributes["count"]; counted {
					trig, ok := res[s].Body.Attributes["triggers"]
					if !ok || !strings.Contains(exprText(t, c, res[s].file, trig), g) {
						t.Errorf("%s waits for %s in %s, which is not among its triggers: a grant added by a later apply is not waited for", addr, g, s)
					}
				}
			}
		}
	}
	if consumers < minConsumers {
		t.Errorf("found %d resources running as the event's accounts; the walk misses some", consumers)
	}
}

// waitFor returns the time_sleep among waits (or among the waits they
// depend on) that depends on grant and waits at least 60 s, or "".
func waitFor(t *testing.T, res map[string]block, waits map[string]bool, grant string) string {
	t.Helper()
	seen := map[string]bool{}
	var visit func(s string) bool
	visit = func(s string) bool {
		if seen[s] {
			return false
		}
		seen[s] = true
		b, ok := res[s]
		if !ok {
			return false
		}
		d, _ := literalString(b.Block, "create_duration")
		long := false
		if dur, err := time.ParseDuration(d); err == nil && dur >= 60*time.Second {
			long = true
		}
		for _, dep := range dependsOn(t, b) {
			// depends_on = [module.CALL] waits for all the module's
			// resources.
			inModule := strings.HasPrefix(dep, "module.") && strings.HasPrefix(grant, dep+".")
			if (dep == grant || inModule) && long {
				return true
			}
			if strings.HasPrefix(dep, "time_sleep.") && visit(dep) {
				return true
			}
		}
		return false
	}
	for _, s := range sortedKeys(waits) {
		if visit(s) {
			return s
		}
	}
	return ""
}

// accountRefs names each service account an expression refers to: X for
// google_service_account.X, module.CALL.X for a module's account, whether
// named directly (module.CALL.google_service_account.X, as the module's own
// blocks are resolved) or through one of the module's outputs
// (module.CALL.id, whose value is google_service_account.X.id).
func accountRefs(c *config, e hclsyntax.Expression) []string {
	var out []string
	for _, tr := range e.Variables() {
		out = append(out, accountRef(c, tr)...)
	}
	return out
}

func accountRef(c *config, tr hcl.Traversal) []string {
	var parts []string
	for _, s := range tr {
		switch s := s.(type) {
		case hcl.TraverseRoot:
			parts = append(parts, s.Name)
		case hcl.TraverseAttr:
			parts = append(parts, s.Name)
		}
	}
	switch {
	case len(parts) >= 2 && parts[0] == "google_service_account":
		return []string{parts[1]}
	case len(parts) >= 5 && parts[0] == "module" && parts[2] == "google_service_account":
		return []string{"module." + parts[1] + "." + parts[3]}
	case len(parts) >= 3 && parts[0] == "module":
		ref := strings.Join(parts[:3], ".")
		out := c.outputRef(ref)
		if out == ref {
			return nil
		}
		otr, diags := hclsyntax.ParseTraversalAbs([]byte(out), "", hcl.InitialPos)
		if diags.HasErrors() {
			return nil // an output that is not one reference
		}
		return accountRef(c, otr)
	}
	return nil
}

// eachMember is the member of a grant to several accounts at once, one
// instance each (forEachAccounts).
const eachMember = `"serviceAccount:${each.value.email}"`

// grantAccounts names the service accounts a grant is to: those its member
// refers to or, for a grant to several at once, those its for_each names
// (depends_on on it waits for all its instances, so it is each one's
// grant).
func grantAccounts(t *testing.T, c *config, b block) []string {
	t.Helper()
	m, ok := b.Body.Attributes["member"]
	if !ok {
		return nil
	}
	if exprText(t, c, b.file, m) == eachMember {
		accts, _ := forEachAccounts(c, b)
		return accts
	}
	return accountRefs(c, m.Expr)
}

// forEachAccounts are the accounts b's for_each names when it maps each
// key to a whole google_service_account.X (written in place or as a
// local), as a grant to several accounts does; ok is false otherwise.
func forEachAccounts(c *config, b block) (accts []string, ok bool) {
	fe, has := b.Body.Attributes["for_each"]
	if !has {
		return nil, false
	}
	e := fe.Expr
	if tr, isRef := e.(*hclsyntax.ScopeTraversalExpr); isRef && tr.Traversal.RootName() == "local" && len(tr.Traversal) == 2 {
		name, _ := traversalAttr(tr.Traversal, 1)
		e = c.localExpr(name)
	}
	obj, isObj := e.(*hclsyntax.ObjectConsExpr)
	if !isObj || len(obj.Items) == 0 {
		return nil, false
	}
	for _, item := range obj.Items {
		tr, isRef := item.ValueExpr.(*hclsyntax.ScopeTraversalExpr)
		if !isRef || len(tr.Traversal) != 2 || tr.Traversal.RootName() != "google_service_account" {
			return nil, false
		}
		accts = append(accts, accountRef(c, tr.Traversal)...)
	}
	return accts, true
}

// localExpr is the expression of local.name as declared, or nil.
func (c *config) localExpr(name string) hclsyntax.Expression {
	for _, b := range c.blocks {
		if a, ok := b.Body.Attributes[name]; ok && b.Type == "locals" {
			return a.Expr
		}
	}
	return nil
}

// dependsOn returns the addresses (type.name) in b's depends_on.
func dependsOn(t *testing.T, b block) []string {
	t.Helper()
	a, ok := b.Body.Attributes["depends_on"]
	if !ok {
		return nil
	}
	exprs, diags := hcl.ExprList(a.Expr)
	if diags.HasErrors() {
		t.Fatalf("%s: depends_on is not a list: %s", b.file, diags.Error())
	}
	var out []string
	for _, e := range exprs {
		tr, diags := hcl.AbsTraversalForExpr(e)
		if diags.HasErrors() || len(tr) < 2 {
			t.Fatalf("%s: depends_on entry is not a reference", b.file)
		}
		if a, ok := tr[1].(hcl.TraverseAttr); ok {
			out = append(out, tr.RootName()+"."+a.Name)
		}
	}
	return out
}

// The waits add edges between resources; Terraform refuses a configuration
// whose references and depends_on form a cycle, which only plan would show.
// Both roots' resource and data blocks, those of their modules as called
// included, every reference in them, no cycle.
func TestNoDependencyCycle(t *testing.T) {
	for _, dir := range schemaRoots {
		c := loadConfig(t, dir)
		edges := map[string][]string{}
		nodes := map[string]bool{}
		for _, b := range c.blocks {
			if (b.Type == "resource" || b.Type == "data") && len(b.Labels) == 2 {
				nodes[b.addr()] = true
			}
		}
		for _, b := range c.blocks {
			if (b.Type != "resource" && b.Type != "data") || len(b.Labels) != 2 {
				continue
			}
			from := b.addr()
			walkBlocks(b.Block, func(n *hclsyntax.Block) {
				for _, a := range n.Body.Attributes {
					for _, tr := range a.Expr.Variables() {
						to := refAddr(tr)
						if nodes[to] {
							edges[from] = append(edges[from], to)
						}
						// module.CALL.OUTPUT, module.CALL (depends_on):
						// the module's resources, all of them.
						if call := strings.Split(to, "."); !nodes[to] && call[0] == "module" && len(call) > 1 {
							for _, m := range sortedKeys(nodes) {
								if strings.HasPrefix(m, "module."+call[1]+".") {
									edges[from] = append(edges[from], m)
								}
							}
						}
					}
				}
			})
		}
		// Depth-first search; grey nodes are on the current path.
		state := map[string]int{}
		var path []string
		var visit func(n string) bool
		visit = func(n string) bool {
			state[n] = 1
			path = append(path, n)
			for _, m := range edges[n] {
				if state[m] == 1 {
					t.Errorf("%s: dependency cycle: %s -> %s", dir, strings.Join(path, " -> "), m)
					return true
				}
				if state[m] == 0 && visit(m) {
					return true
				}
			}
			state[n] = 2
			path = path[:len(path)-1]
			return false
		}
		for _, n := range sortedKeys(nodes) {
			if state[n] == 0 && visit(n) {
				return
			}
		}
	}
}

func nodeAddr(kind, typ, name string) string {
	if kind == "data" {
		return "data." + typ + "." + name
	}
	return typ + "." + name
}

// refAddr is the resource or data address a traversal starts with:
// type.name, data.type.name, and for a module's resource the same after
// module.CALL (module.CALL.OUTPUT when it names an output).
func refAddr(tr hcl.Traversal) string {
	var parts []string
	for _, s := range tr {
		switch s := s.(type) {
		case hcl.TraverseRoot:
			parts = append(parts, s.Name)
		case hcl.TraverseAttr:
			parts = append(parts, s.Name)
		}
	}
	n, at := 0, 0
	if len(parts) > 0 && parts[0] == "module" {
		n, at = 2, 2
	}
	n += 2
	if len(parts) > at && parts[at] == "data" {
		n++
	}
	return strings.Join(parts[:min(n, len(parts))], ".")
}
