// Command iotstack synthesizes, validates and applies iotstack's profiles
// with values documents: one command for the whole path from a values file
// to a running stack.
//
//	iotstack profiles
//	iotstack values minimal-3az > prod.yaml          # the complete default document, commented
//	iotstack synth minimal-3az -f prod.yaml -o deploy/prod
//	iotstack plan minimal-3az -f prod.yaml           # capacity, zone loss and cost
//	iotstack validate deploy/prod
//	iotstack diff deploy/prod && iotstack apply deploy/prod
//
// Exit codes (stable, for scripts): 0 success (diff: no change); 1 the
// operation failed (cluster error, not ready in time, validation
// findings); 2 bad usage or bad input (unknown profile, flag or values
// path, invalid value, a rendered directory that no longer matches its
// values); 3 diff found changes.
//
// Install with `go install github.com/iotstack/iotstack/cmd/...@latest`
// (iotstack and its companion iotstack-cluster) or run it from a clone with
// `go tool iotstack`.
//
// This command imports only package cli/core, so that `go tool iotstack`
// checks about 300 packages before it starts rather than over 800: the
// verbs that need the cluster client or the schema validator (validate,
// diff, apply, delete, secrets) are forwarded to iotstack-cluster, found
// beside this executable, through `go tool` in a clone, or on PATH. A
// module that declares iotstack as a tool declares both: `go get -tool
// github.com/iotstack/iotstack/cmd/iotstack
// github.com/iotstack/iotstack/cmd/iotstack-cluster`.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/iotstack/iotstack/cli/core"
)

func main() {
	verbs := core.Commands()
	for _, v := range core.ClusterVerbs {
		verbs = append(verbs, core.Forward(v))
	}
	err := core.Root(os.Stdout, os.Stderr, verbs...).Execute()
	if err == nil {
		return
	}
	if !errors.Is(err, core.ErrReported) {
		fmt.Fprintln(os.Stderr, "iotstack:", err)
	}
	var ex *core.ExitError
	if errors.As(err, &ex) {
		os.Exit(ex.Code)
	}
	os.Exit(core.ExitFailed)
}
