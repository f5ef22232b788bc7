// Command emulators runs the local stand-ins for cloud services that no
// official emulator covers. Each service is a subcommand so the stack script
// can start, log and stop it as its own process:
//
//	emulators storage   Cloud Storage (fake-gcs-server, in memory)
//	emulators smtp      SMTP sink writing each message to MAIL_DIR as .eml
//	emulators bridge    Firestore emulator changes -> Eventarc CloudEvents -> Notify
//	emulators vertex    a stand-in for Vertex AI's generateContent (emulators/vertex)
//	emulators sms       a stand-in for Twilio's Messages API, messages to SMS_DIR (emulators/sms)
//	emulators appcheck  a stand-in for Firebase App Check's token exchange and JWKS (emulators/appcheck)
//
// Flags default to the environment variables the stack uses, so
// `set -a; . .local/env` followed by `emulators storage` does the right thing.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/tigerstudio/studio/emulators/gcs"
)

func main() {
	// SIGTERM is what the stack script sends on `make stop`.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := realMain(ctx, logger, os.Args[1:], os.Stderr); err != nil {
		stop()
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		logger.Error("emulators failed", slog.Any("error", err))
		os.Exit(2)
	}
}

// subcommand is one local service.
type subcommand struct {
	summary string
	run     func(ctx context.Context, logger *slog.Logger, args []string, usage io.Writer) error
}

var subcommands = map[string]subcommand{
	"storage":  {summary: "Cloud Storage emulator (fake-gcs-server, in memory)", run: runStorage},
	"smtp":     {summary: "SMTP sink, one .eml file per message in -dir", run: runSMTP},
	"bridge":   {summary: "Firestore emulator changes as Eventarc CloudEvents to -target", run: runBridge},
	"vertex":   {summary: "STAND-IN for Vertex AI's generateContent (no model: a marked, posterised copy)", run: runVertex},
	"sms":      {summary: "STAND-IN for Twilio's Messages API: nothing sent, one .json per message in -dir", run: runSMS},
	"appcheck": {summary: "STAND-IN for Firebase App Check's debug-token exchange and its JWKS (attests nothing)", run: runAppCheck},
}

func realMain(ctx context.Context, logger *slog.Logger, args []string, usage io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		printUsage(usage)
		if len(args) == 0 {
			return errors.New("missing subcommand")
		}
		return flag.ErrHelp
	}
	cmd, ok := subcommands[args[0]]
	if !ok {
		printUsage(usage)
		return fmt.Errorf("unknown subcommand %q", args[0])
	}
	return cmd.run(ctx, logger.With(slog.String("part", args[0])), args[1:], usage)
}

func printUsage(w io.Writer) {
	names := make([]string, 0, len(subcommands))
	for n := range subcommands {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "usage: emulators <subcommand> [flags]")
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, subcommands[n].summary)
	}
}

func runStorage(ctx context.Context, logger *slog.Logger, args []string, usage io.Writer) error {
	fs := newFlags("storage", usage)
	l := listenFlags(fs, "STORAGE", 9023)
	input := fs.envString("input-bucket", "INPUT_BUCKET", "tiger-input", "bucket for uploaded photos, created at start")
	output := fs.envString("output-bucket", "OUTPUT_BUCKET", "tiger-output", "bucket for generated images, created at start")
	extra := fs.String("buckets", "", "comma-separated further buckets to create")
	accessLog := fs.Bool("access-log", true, "log every request")
	if err := parse(fs, args); err != nil {
		return err
	}
	host, port, err := l.hostPort()
	if err != nil {
		return err
	}
	cfg := gcs.Config{Host: host, Port: port, Buckets: []string{*input, *output}}
	for b := range strings.SplitSeq(*extra, ",") {
		if b = strings.TrimSpace(b); b != "" {
			cfg.Buckets = append(cfg.Buckets, b)
		}
	}
	if *accessLog {
		cfg.AccessLog = os.Stderr
	}
	return gcs.Run(ctx, logger, cfg)
}
