// Command iotstack-cluster is the whole iotstack command line, the verbs
// that need the Kubernetes client or the schema validator included:
// validate, preflight, diff, apply, delete and secrets. iotstack (cmd/iotstack)
// forwards those verbs here, so that its own start, which `go tool
// iotstack synth` pays on every run, stays free of them; run it directly
// as you would run iotstack:
//
//	iotstack-cluster apply deploy/prod
//
// Exit codes are iotstack's: 0 success (diff: no change); 1 the operation
// failed (preflight: a check failed); 2 bad usage or bad input; 3 diff
// found changes, or preflight could not reach the cluster.
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
