package generate

import "context"

// Device gives a job's model runs their turns on the accelerator that the
// jobs in hand share. Only a local model run (one ONNX session Run) takes a
// turn: a job's pure-Go steps, its decode and encode, and a step that waits
// on a remote API run outside it, so they overlap another job's model run
// and never keep the GPU from it.
//
// The worker puts one Device per job in the job's context (WithDevice),
// which knows the job's class (booth or online): that is what orders the
// turns and lets a booth job stop an online model run.
type Device interface {
	// Run waits for a turn, calls run in it and gives the turn back. The
	// context run gets ends when ctx does, or when the turn is taken back
	// for a booth job; Run then waits for the next turn and calls run
	// again, so run must be repeatable (a model run that rewrites its
	// outputs is). Run returns run's error, or ctx's while it waits.
	Run(ctx context.Context, run func(ctx context.Context) error) error
}

type deviceKey struct{}

// WithDevice returns ctx carrying the job's Device.
func WithDevice(ctx context.Context, d Device) context.Context {
	return context.WithValue(ctx, deviceKey{}, d)
}

// OnDevice runs run in a turn of the Device ctx carries, or at once when
// it carries none (a worker whose jobs do not share a device, a model's
// warm-up before the worker takes jobs, a tool).
func OnDevice(ctx context.Context, run func(ctx context.Context) error) error {
	if d, ok := ctx.Value(deviceKey{}).(Device); ok && d != nil {
		return d.Run(ctx, run)
	}
	return run(ctx)
}
