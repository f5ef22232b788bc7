// Command cost prints what one event costs per hour on Google Cloud, idle
// and at full load, from the stack's sizes (terraform/variables.tf defaults,
// overridable by flags) and published list prices (prices.go, dated).
//
//	go run ./cmd/cost -max-instances 3 -jobs-per-gpu-hour 300
//
// It is an estimate: no taxes, free tiers, discounts or network egress.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"

	"github.com/tigerstudio/studio/infra/entry"
	"github.com/tigerstudio/studio/infra/styles"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	entry.Main(func(ctx context.Context) error { return realMain(ctx, os.Args[1:], os.Stdout) }, func(err error) {
		logger.Error("cost", "error", err)
	})
}

func realMain(_ context.Context, args []string, out io.Writer) error {
	s := defaultSizes()
	fs := flag.NewFlagSet("cost", flag.ContinueOnError)
	fs.IntVar(&s.MinInstances, "min-instances", s.MinInstances, "worker_min_instances: GPUs kept when idle")
	fs.IntVar(&s.MaxInstances, "max-instances", s.MaxInstances, "worker_max_instances: GPUs at full load")
	fs.Float64Var(&s.JobsPerGPUHour, "jobs-per-gpu-hour", s.JobsPerGPUHour, "generations one L4 finishes per hour at full load")
	fs.StringVar(&s.BrokerMachine, "rabbitmq-machine-type", s.BrokerMachine, "rabbitmq_machine_type")
	fs.IntVar(&s.BrokerDiskGB, "rabbitmq-disk-gb", s.BrokerDiskGB, "rabbitmq_disk_gb")
	fs.Float64Var(&s.GeneratedShare, "generated-share", s.GeneratedShare, "fraction of jobs in generated styles (hosted model, billed per image); 0 with generated styles off")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := s.Validate(); err != nil {
		return err
	}
	p := prices
	cat, err := styles.Load("")
	if err != nil {
		return err
	}
	var asOf string
	p.GeneratedImage, asOf = generatedPrice(cat)
	idle, err := estimate(s, p, false)
	if err != nil {
		return err
	}
	full, err := estimate(s, p, true)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Tiger Studio: cost per event-hour, USD (list prices as of %s, %s)\n", pricesAsOf, prices.Region)
	fmt.Fprintf(out, "idle: %d worker(s); full load: %d worker(s), %.0f jobs/hour\n\n", s.MinInstances, s.MaxInstances, float64(s.MaxInstances)*s.JobsPerGPUHour)
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "item\tidle\tfull load\t")
	for i := range idle.Lines {
		fmt.Fprintf(w, "%s\t%.4f\t%.4f\t\n", idle.Lines[i].Item, idle.Lines[i].USD, full.Lines[i].USD)
	}
	fmt.Fprintf(w, "total\t%.2f\t%.2f\t\n", idle.Total(), full.Total())
	if err := w.Flush(); err != nil {
		return err
	}
	if p.GeneratedImage > 0 {
		fmt.Fprintf(out, "\ngenerated styles: $%.3f per image at list price (the catalogue's price as of %s), $%.2f per 1,000 portraits;\n"+
			"they are billed by Vertex AI per image, whatever the GPUs do; GENERATED_BUDGET_USD caps them per event\n",
			p.GeneratedImage, asOf, 1000*p.GeneratedImage)
	}
	return nil
}

// generatedPrice is the highest list price per image among the catalogue's
// generated styles (an estimate errs high), and the date it was read.
func generatedPrice(cat *styles.Catalogue) (usd float64, asOf string) {
	for _, st := range cat.All() {
		if g := st.Generated; g != nil && g.PriceUSD > usd {
			usd, asOf = g.PriceUSD, g.PriceAsOf
		}
	}
	return usd, asOf
}
