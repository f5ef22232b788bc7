package main

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Round prices make the arithmetic checkable by hand.
var testPrices = Prices{
	RunVCPUSecond: 1e-5, RunGiBSecond: 1e-6, RunL4Second: 1e-4,
	FuncVCPUSecond: 2e-5, FuncGiBSecond: 2e-6, FuncPerMillionReq: 1,
	VMHour:          map[string]float64{"e2-micro": 0.01, "e2-small": 0.02},
	PDBalancedGBMon: 0.073, NATGatewayHour: 0.001, SchedulerJobMon: 0.73,
	FirestoreRead100k: 0.1, FirestoreWrite100k: 0.2, StorageClassA1k: 0.01, StorageClassB1k: 0.001,
}

func TestEstimate(t *testing.T) {
	base := defaultSizes()
	// worker hour: 3600 * (4*1e-5 + 16*1e-6 + 1e-4) = 0.5616
	// autoscaler: 3600 * (1e-5 + 1e-6) = 0.0396
	// VM 0.02, disks 20*0.073/730 = 0.002, connector 2*0.01, NAT 0.001,
	// scheduler 2*0.73/730 = 0.002: 0.0846 in all, whatever the load
	const fixed = 0.0396 + 0.02 + 0.002 + 0.02 + 0.001 + 0.002
	// per job: functions 6 * (0.3*(2e-5 + 0.5*2e-6) + 1e-6) = 6*7.3e-6 = 4.38e-5;
	// Firestore (10*0.1 + 4*0.2)/1e5 = 1.8e-5; Storage (3*0.01 + 4*0.001)/1e3 = 3.4e-5
	const perJob = 4.38e-5 + 1.8e-5 + 3.4e-5
	cases := []struct {
		name  string
		edit  func(*Sizes)
		full  bool
		total float64
	}{
		{"idle, scaled to zero", func(*Sizes) {}, false, fixed},
		{"idle, one warm GPU", func(s *Sizes) { s.MinInstances = 1 }, false, fixed + 0.5616},
		{"full, one GPU", func(*Sizes) {}, true, fixed + 0.5616 + 360*perJob},
		{"full, three GPUs, 100 jobs each", func(s *Sizes) { s.MaxInstances, s.JobsPerGPUHour = 3, 100 }, true, fixed + 3*0.5616 + 300*perJob},
		{"bigger disk", func(s *Sizes) { s.BrokerDiskGB = 80 }, false, fixed - 0.002 + 90*0.073/730},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := base
			c.edit(&s)
			e, err := estimate(s, testPrices, c.full)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.Total(); math.Abs(got-c.total) > 1e-9 {
				t.Errorf("total %.9f, want %.9f (%+v)", got, c.total, e.Lines)
			}
		})
	}
	if _, err := estimate(Sizes{BrokerMachine: "n2-unknown"}, testPrices, false); err == nil {
		t.Error("an unknown machine type was priced")
	}
}

func TestValidate(t *testing.T) {
	s := defaultSizes()
	s.MinInstances, s.MaxInstances, s.BrokerDiskGB = 3, 2, 0
	err := s.Validate()
	if err == nil || !strings.Contains(err.Error(), "max-instances") || !strings.Contains(err.Error(), "disk") {
		t.Errorf("Validate = %v, want both problems", err)
	}
}

func TestPrintsIdleAndFull(t *testing.T) {
	var out bytes.Buffer
	if err := realMain(context.Background(), []string{"-max-instances", "2"}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"idle", "full load", "total", "worker pool", pricesAsOf} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if err := realMain(context.Background(), []string{"-min-instances", "5"}, &out); err == nil {
		t.Error("min above max was accepted")
	}
}

// The defaults are the stack's: variables.tf's defaults.
func TestDefaultsMatchVariables(t *testing.T) {
	f, diags := hclparse.NewParser().ParseHCLFile(filepath.Join("..", "..", "terraform", "variables.tf"))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	defaults := map[string]cty.Value{}
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if b.Type == "variable" {
			if a, ok := b.Body.Attributes["default"]; ok {
				if v, d := a.Expr.Value(nil); !d.HasErrors() {
					defaults[b.Labels[0]] = v
				}
			}
		}
	}
	s := defaultSizes()
	num := func(name string) int {
		v, ok := defaults[name]
		if !ok || v.Type() != cty.Number {
			t.Fatalf("variables.tf: no number default for %s", name)
		}
		i, _ := v.AsBigFloat().Int64()
		return int(i)
	}
	if got := num("worker_min_instances"); got != s.MinInstances {
		t.Errorf("worker_min_instances default %d, cost uses %d", got, s.MinInstances)
	}
	if got := num("worker_max_instances"); got != s.MaxInstances {
		t.Errorf("worker_max_instances default %d, cost uses %d", got, s.MaxInstances)
	}
	if got := num("rabbitmq_disk_gb"); got != s.BrokerDiskGB {
		t.Errorf("rabbitmq_disk_gb default %d, cost uses %d", got, s.BrokerDiskGB)
	}
	if v := defaults["rabbitmq_machine_type"]; v.Type() != cty.String || v.AsString() != s.BrokerMachine {
		t.Errorf("rabbitmq_machine_type default %#v, cost uses %s", v, s.BrokerMachine)
	}
}
