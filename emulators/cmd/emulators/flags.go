package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
)

// flags is a subcommand's flag set. A flag that stands for one of the
// stack's settings defaults to its environment variable, which its usage
// names, so `set -a; . .local/env` is all a subcommand needs; parse rejects
// a required one left empty.
type flags struct {
	*flag.FlagSet
	required []envFlag
}

// envFlag is a string flag read from an environment variable by default.
type envFlag struct {
	name, env string
	value     *string
}

// newFlags is a subcommand's flag set: errors are returned, usage goes to w.
func newFlags(name string, w io.Writer) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(w)
	return &flags{FlagSet: fs}
}

// envString registers -name, defaulting to $env (def when that is unset).
func (f *flags) envString(name, env, def, usage string) *string {
	return f.String(name, envOr(env, def), usage+" (env "+env+")")
}

// requiredString registers -name, defaulting to $env; parse fails when it
// is still empty.
func (f *flags) requiredString(name, env, usage string) *string {
	v := f.envString(name, env, "", usage)
	f.required = append(f.required, envFlag{name: name, env: env, value: v})
	return v
}

// parse parses a subcommand's arguments, which are flags only, and checks
// that every required flag has a value.
func parse(f *flags, args []string) error {
	if err := f.Parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return fmt.Errorf("%s: unexpected arguments %q", f.Name(), f.Args())
	}
	return f.missing()
}

// missing names every required flag left empty, each with its variable.
func (f *flags) missing() error {
	var names []string
	for _, r := range f.required {
		if *r.value == "" {
			names = append(names, "-"+r.name+" (or "+r.env+")")
		}
	}
	switch n := len(names); n {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("%s: %s is required", f.Name(), names[0])
	default:
		return fmt.Errorf("%s: %s and %s are required", f.Name(), strings.Join(names[:n-1], ", "), names[n-1])
	}
}

// listen is the -host and -port every listening service takes.
type listen struct {
	fs   *flags
	host *string
	port *uint
}

// listenFlags registers -host and -port, defaulting to $<env>_HOST
// (127.0.0.1) and $<env>_PORT (port).
func listenFlags(fs *flags, env string, port uint64) listen {
	return listen{
		fs:   fs,
		host: fs.envString("host", env+"_HOST", "127.0.0.1", "address to bind"),
		port: fs.Uint("port", uint(envUint(env+"_PORT", port)), "port to bind (env "+env+"_PORT)"),
	}
}

// parse parses the subcommand's arguments (see parse) and returns the
// address to listen on.
func (l listen) parse(args []string) (string, error) {
	if err := parse(l.fs, args); err != nil {
		return "", err
	}
	return l.addr()
}

// hostPort is the parsed host and port, the port checked.
func (l listen) hostPort() (string, uint16, error) {
	if *l.port == 0 || *l.port > 65535 {
		return "", 0, fmt.Errorf("%s: port %d out of range", l.fs.Name(), *l.port)
	}
	return *l.host, uint16(*l.port), nil
}

// addr is the parsed address, the port checked.
func (l listen) addr() (string, error) {
	host, port, err := l.hostPort()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(host, strconv.FormatUint(uint64(port), 10)), nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// envUint returns def when key is unset; an unparsable value becomes 0, which
// the caller rejects with a clear message.
func envUint(key string, def uint64) uint64 {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.ParseUint(v, 10, 16)
	if err != nil {
		return 0
	}
	return n
}
