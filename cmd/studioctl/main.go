// Command studioctl is the operator's tool (DESIGN.md, "Operator tool"):
// staff claims, queue and job status, dead-letter inspection and requeue,
// export of an event's results and purge of an event's data. It reads the
// same environment as the components (.local/env locally; Application
// Default Credentials and the event's settings in the cloud), so the same
// commands work against the emulators and the cloud.
//
//	studioctl staff grant|revoke|list [EMAIL]
//	studioctl status [--watch] [--interval 3s] [--json]
//	studioctl dead list [--json]
//	studioctl dead requeue [--all] [ID...]
//	studioctl export [--every N] DIR
//	studioctl purge --event NAME [--yes] [--force] [--expired] [--json]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"

	"github.com/tigerstudio/studio/infra/config"
	"github.com/tigerstudio/studio/infra/entry"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	slog.SetDefault(logger)
	entry.Main(realMain, func(err error) { fmt.Fprintln(os.Stderr, "studioctl:", err) })
}

func realMain(ctx context.Context) error {
	return run(ctx, os.Args[1:], config.FromEnv(), os.Stdout, os.Stderr)
}

// cli is one invocation: where it writes and how it reaches the stack.
type cli struct {
	cfg    Config
	stdout io.Writer
	stderr io.Writer
}

// printJSON writes v to stdout as indented JSON, for the commands' --json.
func (c *cli) printJSON(v any) error {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// command is one subcommand: its name, a line of help and its body.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, c *cli, args []string) error
}

func commands() []command {
	return []command{
		{"staff", "grant, revoke or list the staff of this event (verified addresses only)", runStaff},
		{"status", "jobs by state and priority, queue depths, in-flight jobs, recent throughput", runStatus},
		{"dead", "list dead-lettered jobs, or requeue them with their attempts restored", runDead},
		{"export", "download every output of the event with a manifest", runExport},
		{"purge", "delete an event's documents and objects (dry run unless --yes)", runPurge},
	}
}

const envHelp = `Environment (as in .local/env; in the cloud Application Default Credentials are used):
  GCLOUD_PROJECT         project (required)
  EVENT                  the event (default local)
  INPUT_BUCKET, OUTPUT_BUCKET
  AMQP_URL               broker URL (status, dead)
  QUEUE_PREFIX           queue name prefix (default tiger)
  FIRESTORE_EMULATOR_HOST, FIREBASE_AUTH_EMULATOR_HOST, STORAGE_EMULATOR_HOST
                         set: the emulators instead of the cloud
`

// run parses args, loads the configuration from lookup and runs the
// subcommand. flag.ErrHelp means help was asked for and printed.
func run(ctx context.Context, args []string, lookup config.Lookuper, stdout, stderr io.Writer) error {
	usage := func() {
		fmt.Fprintln(stderr, "usage: studioctl COMMAND [flags] [args]\n\nCommands:")
		for _, c := range commands() {
			fmt.Fprintf(stderr, "  %-8s %s\n", c.name, c.summary)
		}
		fmt.Fprint(stderr, "\nRun studioctl COMMAND --help for a command's flags.\n\n")
		fmt.Fprint(stderr, envHelp)
	}
	if len(args) == 0 {
		usage()
		return errors.New("no command given")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage()
		return flag.ErrHelp
	}
	for _, cmd := range commands() {
		if cmd.name != args[0] {
			continue
		}
		var cfg Config
		// Help needs no environment: the command's flag parsing prints it
		// before any configuration is used.
		if !slices.ContainsFunc(args[1:], isHelp) {
			if err := config.Load(ctx, lookup, &cfg); err != nil {
				return err
			}
		}
		return cmd.run(ctx, &cli{cfg: cfg, stdout: stdout, stderr: stderr}, args[1:])
	}
	usage()
	return fmt.Errorf("unknown command %q", args[0])
}

func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "--h":
		return true
	}
	return false
}

// newFlags makes a subcommand's flag set, with its usage text on stderr.
func (c *cli) newFlags(name, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet("studioctl "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "usage: studioctl %s\n\n%s\n", synopsis, about)
		var n int
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintln(c.stderr, "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}
