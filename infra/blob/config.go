package blob

import "github.com/tigerstudio/studio/infra/config"

// Buckets is the buckets' part of a component's configuration, embedded in
// the Gateway's, the worker's and the operator tool's Config.
type Buckets struct {
	InputBucket  string `env:"INPUT_BUCKET"`
	OutputBucket string `env:"OUTPUT_BUCKET"`
}

// Problems reports missing buckets, and one bucket named for both: each has
// its own writer (DESIGN.md, "Write scopes").
func (b Buckets) Problems() []error {
	errs := config.Required("INPUT_BUCKET", b.InputBucket, "OUTPUT_BUCKET", b.OutputBucket)
	if err := config.DistinctBuckets(b.InputBucket, b.OutputBucket); err != nil {
		errs = append(errs, err)
	}
	return errs
}
