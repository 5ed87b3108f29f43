// Command iotstack synthesizes, validates and applies iotstack's profiles
// with values documents: one command for the whole path from a values file
// to a running stack.
//
//	iotstack profiles
//	iotstack values minimal-3az > prod.yaml          # the complete default document, commented
//	iotstack synth minimal-3az -f prod.yaml -o deploy/prod
//	iotstack validate deploy/prod
//	iotstack diff deploy/prod && iotstack apply deploy/prod
//
// Exit codes (stable, for scripts): 0 success (diff: no change); 1 the
// operation failed (cluster error, not ready in time, validation
// findings); 2 bad usage or bad input (unknown profile, flag or values
// path, invalid value, a rendered directory that no longer matches its
// values); 3 diff found changes.
//
// Install with `go install github.com/iotstack/iotstack/cmd/iotstack@latest`
// or run it from a clone with `go tool iotstack`.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/iotstack/iotstack/cli"
)

func main() {
	err := cli.Command(os.Stdout, os.Stderr).Execute()
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "iotstack:", err)
	var ex *cli.ExitError
	if errors.As(err, &ex) {
		os.Exit(ex.Code)
	}
	os.Exit(cli.ExitFailed)
}
