package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
)

// newFlags is a subcommand's flag set: errors are returned, usage goes to w.
func newFlags(name string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(w)
	return fs
}

// parse parses a subcommand's arguments, which are flags only.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected arguments %q", fs.Name(), fs.Args())
	}
	return nil
}

// listen is the -host and -port every listening service takes.
type listen struct {
	name string
	host *string
	port *uint
}

// listenFlags registers -host and -port, defaulting to $<env>_HOST
// (127.0.0.1) and $<env>_PORT (port).
func listenFlags(fs *flag.FlagSet, env string, port uint64) listen {
	return listen{
		name: fs.Name(),
		host: fs.String("host", envOr(env+"_HOST", "127.0.0.1"), "address to bind (env "+env+"_HOST)"),
		port: fs.Uint("port", uint(envUint(env+"_PORT", port)), "port to bind (env "+env+"_PORT)"),
	}
}

// hostPort is the parsed host and port, the port checked.
func (l listen) hostPort() (string, uint16, error) {
	if *l.port == 0 || *l.port > 65535 {
		return "", 0, fmt.Errorf("%s: port %d out of range", l.name, *l.port)
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
