package main

import (
	"errors"
	"fmt"
)

const hoursPerMonth = 730

// Sizes are the stack's sizes; the defaults are terraform/variables.tf's
// (main_test.go checks that they agree) and the fixed sizes in the .tf files.
type Sizes struct {
	MinInstances   int     // worker_min_instances
	MaxInstances   int     // worker_max_instances
	JobsPerGPUHour float64 // throughput of one L4 at full load (an assumption, not a setting)
	// GeneratedShare is the fraction of jobs in generated styles, each
	// billed by the hosted model per image (an assumption, not a setting).
	GeneratedShare float64
	BrokerMachine  string // rabbitmq_machine_type
	BrokerDiskGB   int    // rabbitmq_disk_gb

	WorkerVCPU, WorkerGiB        float64 // worker.tf: 4 CPU, 16 GiB, one L4
	ScalerVCPU, ScalerGiB        float64 // autoscaler.tf: 1 CPU, 1 GiB, always on
	BrokerBootGB                 int     // rabbitmq.tf boot disk
	ConnectorInstances           int     // network.tf min_instances (e2-micro)
	SchedulerJobs                int     // scheduled.tf: Reconcile, NotifySweep
	FuncCallsPerJob              float64 // Gateway submit + status reads + Notify
	FuncSecondsPerCall           float64
	FuncVCPU, FuncGiB            float64
	ReadsPerJob, WritesPerJob    float64 // Firestore documents
	ObjectWritesPerJob, ObjReads float64 // Storage operations
}

func defaultSizes() Sizes {
	return Sizes{
		MinInstances: 0, MaxInstances: 1, JobsPerGPUHour: 360, GeneratedShare: 0.5,
		BrokerMachine: "e2-small", BrokerDiskGB: 10,
		WorkerVCPU: 4, WorkerGiB: 16, ScalerVCPU: 1, ScalerGiB: 1,
		BrokerBootGB: 10, ConnectorInstances: 2, SchedulerJobs: 2,
		FuncCallsPerJob: 6, FuncSecondsPerCall: 0.3, FuncVCPU: 1, FuncGiB: 0.5,
		ReadsPerJob: 10, WritesPerJob: 4, ObjectWritesPerJob: 3, ObjReads: 4,
	}
}

// Validate reports every problem at once.
func (s Sizes) Validate() error {
	var errs []error
	if s.MinInstances < 0 {
		errs = append(errs, errors.New("min-instances must be 0 or more"))
	}
	if s.MaxInstances < 1 || s.MaxInstances < s.MinInstances {
		errs = append(errs, errors.New("max-instances must be at least 1 and at least min-instances"))
	}
	if s.JobsPerGPUHour < 0 {
		errs = append(errs, errors.New("jobs-per-gpu-hour must be 0 or more"))
	}
	if !(s.GeneratedShare >= 0 && s.GeneratedShare <= 1) {
		errs = append(errs, errors.New("generated-share must be within 0..1"))
	}
	if s.BrokerDiskGB < 1 {
		errs = append(errs, errors.New("rabbitmq-disk-gb must be 1 or more"))
	}
	return errors.Join(errs...)
}

// Line is one item of an hour's bill.
type Line struct {
	Item string
	USD  float64
}

// Estimate is an hour's bill.
type Estimate struct{ Lines []Line }

// Total sums the lines.
func (e Estimate) Total() float64 {
	var t float64
	for _, l := range e.Lines {
		t += l.USD
	}
	return t
}

// estimate is the cost of one hour with the workers idle (min instances,
// no jobs) or at full load (max instances, each finishing JobsPerGPUHour).
// The lines are the same, in the same order, for both.
func estimate(s Sizes, p Prices, full bool) (Estimate, error) {
	vm, ok := p.VMHour[s.BrokerMachine]
	if !ok {
		return Estimate{}, fmt.Errorf("no price for machine type %q", s.BrokerMachine)
	}
	connector, ok := p.VMHour["e2-micro"]
	if !ok {
		return Estimate{}, errors.New("no price for e2-micro (the connector's instances)")
	}
	workers, jobs := float64(s.MinInstances), 0.0
	if full {
		workers = float64(s.MaxInstances)
		jobs = workers * s.JobsPerGPUHour
	}
	const sec = 3600
	worker := sec * (s.WorkerVCPU*p.RunVCPUSecond + s.WorkerGiB*p.RunGiBSecond + p.RunL4Second)
	funcCall := s.FuncSecondsPerCall*(s.FuncVCPU*p.FuncVCPUSecond+s.FuncGiB*p.FuncGiBSecond) + p.FuncPerMillionReq/1e6
	return Estimate{Lines: []Line{
		{"worker pool (L4 + 4 vCPU + 16 GiB each)", workers * worker},
		{"autoscaler (CREMA, 1 vCPU, 1 GiB)", sec * (s.ScalerVCPU*p.RunVCPUSecond + s.ScalerGiB*p.RunGiBSecond)},
		{"RabbitMQ VM " + s.BrokerMachine, vm},
		{"RabbitMQ disks (pd-balanced)", float64(s.BrokerBootGB+s.BrokerDiskGB) * p.PDBalancedGBMon / hoursPerMonth},
		{"VPC connector (e2-micro instances)", float64(s.ConnectorInstances) * connector},
		{"Cloud NAT gateway", p.NATGatewayHour},
		{"Cloud Scheduler jobs", float64(s.SchedulerJobs) * p.SchedulerJobMon / hoursPerMonth},
		{"functions (Gateway, Notify)", jobs * s.FuncCallsPerJob * funcCall},
		{"Firestore operations", jobs * (s.ReadsPerJob*p.FirestoreRead100k + s.WritesPerJob*p.FirestoreWrite100k) / 1e5},
		{"Storage operations", jobs * (s.ObjectWritesPerJob*p.StorageClassA1k + s.ObjReads*p.StorageClassB1k) / 1e3},
		{fmt.Sprintf("generated images (Vertex AI, %.0f%% of jobs, $%.3f each)", 100*s.GeneratedShare, p.GeneratedImage), jobs * s.GeneratedShare * p.GeneratedImage},
	}}, nil
}
