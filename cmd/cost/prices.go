package main

// pricesAsOf dates the list prices below. They were copied from Google's
// public price pages (cloud.google.com/run/pricing, /compute/vm-instance-pricing,
// /vpc/pricing (Serverless VPC Access), /nat/pricing, /firestore/pricing,
// /storage/pricing) for Tier 1 regions; check them before relying on the
// figures. Worker pools' CPU and memory are billed at their own rates
// (cloud.google.com/run/docs/configuring/workerpools/gpu); this estimate
// uses the instance-based service rates for them, and the same L4 rate.
const pricesAsOf = "2025-09 (not re-checked offline since)"

// Prices are USD list prices.
type Prices struct {
	Region string

	RunVCPUSecond     float64 // Cloud Run, instance-based billing (CPU always allocated)
	RunGiBSecond      float64
	RunL4Second       float64 // NVIDIA L4, without zonal redundancy
	FuncVCPUSecond    float64 // Cloud Run functions / request-based billing
	FuncGiBSecond     float64
	FuncPerMillionReq float64

	VMHour          map[string]float64 // Compute Engine on-demand, by machine type
	PDBalancedGBMon float64            // pd-balanced per GB-month
	NATGatewayHour  float64            // Cloud NAT, per VM using it
	SchedulerJobMon float64            // Cloud Scheduler, per job-month (beyond 3 free)

	FirestoreRead100k  float64
	FirestoreWrite100k float64
	StorageClassA1k    float64 // inserts
	StorageClassB1k    float64 // reads

	// GeneratedImage is one image of a generated style (a hosted model on
	// Vertex AI), from the style catalogue, which dates it (realMain).
	GeneratedImage float64
}

var prices = Prices{
	Region: "Tier 1 (us-central1 for Compute Engine; europe-west4 is about 10% higher)",

	RunVCPUSecond:     0.000018,
	RunGiBSecond:      0.000002,
	RunL4Second:       0.0001867,
	FuncVCPUSecond:    0.000024,
	FuncGiBSecond:     0.0000025,
	FuncPerMillionReq: 0.40,

	VMHour: map[string]float64{
		"e2-micro":  0.008376,
		"e2-small":  0.016751,
		"e2-medium": 0.033502,
	},
	PDBalancedGBMon: 0.10,
	NATGatewayHour:  0.0014,
	SchedulerJobMon: 0.10,

	FirestoreRead100k:  0.06,
	FirestoreWrite100k: 0.18,
	StorageClassA1k:    0.005,
	StorageClassB1k:    0.0004,
}
