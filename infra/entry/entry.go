// Package entry runs a command's body the one way every command of the
// repository needs: with a context that SIGINT (Ctrl-C) or SIGTERM (Cloud
// Run's and the local stack's stop) cancels, so the body can finish what it
// holds, and with an exit status that says whether it failed.
package entry

import (
	"context"
	"errors"
	"flag"
	"os"
	"os/signal"
	"syscall"
)

// Main runs body and exits the process: quietly with status 0 when body
// returns nil or flag.ErrHelp (the usage was asked for and printed), else
// with status 1 after failed reports the error in the command's own way.
func Main(body func(context.Context) error, failed func(error)) {
	os.Exit(run(body, failed))
}

func run(body func(context.Context) error, failed func(error)) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := body(ctx)
	stop()
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	failed(err)
	return 1
}
