package core

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/iotstack/iotstack/values"
)

// MageArgSep joins the key=value arguments FoldMageArgs folds into one
// target argument.
const MageArgSep = "\x1f"

// FoldMageArgs lets Mage targets, which take a fixed number of arguments,
// take key=value options: every key=value argument that follows another
// argument of a target (not a target name) is folded into that argument,
// so `synth profile=small values=prod.yaml namespace=lab` reaches Synth as
// one argument. targets are the known target names (lower case).
func FoldMageArgs(args []string, targets []string) []string {
	isTarget := map[string]bool{}
	for _, t := range targets {
		isTarget[strings.ToLower(t)] = true
	}
	out := append([]string(nil), args[:min(1, len(args))]...)
	for _, a := range args[min(1, len(args)):] {
		if n := len(out); n > 1 && strings.Contains(a, "=") && !strings.HasPrefix(a, "-") {
			prev := out[n-1]
			if !isTarget[strings.ToLower(prev)] && !strings.HasPrefix(prev, "-") {
				out[n-1] = prev + MageArgSep + a
				continue
			}
		}
		out = append(out, a)
	}
	return out
}

// MageArgs are a Mage target's argument split into the CLI's flags:
// profile= (or a bare profile name or directory), values=FILE[,FILE...],
// out=DIR, format=FORMAT (plan's and preflight's --format), set=PATH=VALUE, and any other PATH=VALUE as a --set override
// (namespace=lab is --set namespace=lab).
type MageArgs struct {
	// Target is the profile name, "all" or a rendered directory.
	Target string
	// Args are the CLI flags the options map to.
	Args []string
}

// ParseMageArg splits one (folded) target argument.
func ParseMageArg(arg string) (MageArgs, error) {
	var m MageArgs
	for _, part := range strings.Split(arg, MageArgSep) {
		key, val, hasEq := strings.Cut(part, "=")
		switch {
		case !hasEq:
			if m.Target != "" {
				return m, fmt.Errorf("two profiles given: %q and %q", m.Target, part)
			}
			m.Target = part
		case key == "profile":
			if m.Target != "" {
				return m, fmt.Errorf("two profiles given: %q and %q", m.Target, val)
			}
			m.Target = val
		case key == "values":
			for _, f := range strings.Split(val, ",") {
				m.Args = append(m.Args, "-f", f)
			}
		case key == "out":
			m.Args = append(m.Args, "-o", val)
		case key == "format":
			m.Args = append(m.Args, "--format", val)
		case key == "set":
			m.Args = append(m.Args, "--set", val)
		default:
			m.Args = append(m.Args, "--set", part)
		}
	}
	if m.Target == "" {
		return m, fmt.Errorf("no profile given: use profile=NAME (or a rendered directory)")
	}
	return m, nil
}

// RunMage runs the CLI verb for a Mage target's argument, with the flags
// extra (from the environment: context, timeout, prune), and returns the
// verb's error. The verbs of this package run in-process; the cluster verbs
// run `go tool iotstack-cluster` (Mage runs in a clone, where it is a Go
// tool built from the same sources).
func RunMage(verb, arg string, extra []string, stdout, stderr io.Writer) error {
	m, err := ParseMageArg(arg)
	if err != nil {
		return Usage(err)
	}
	args := append(append([]string{verb, m.Target}, m.Args...), extra...)
	for _, v := range ClusterVerbs {
		if v.Name() != verb {
			continue
		}
		c := exec.Command("go", append([]string{"tool", Companion}, args...)...)
		c.Stdin, c.Stdout, c.Stderr = os.Stdin, stdout, stderr
		if err := c.Run(); err != nil {
			return fmt.Errorf("go tool %s %s: %w", Companion, strings.Join(args, " "), err)
		}
		return nil
	}
	cmd := Root(stdout, stderr, Commands()...)
	cmd.SetArgs(args)
	return cmd.Execute()
}

// ClusterEnv maps Mage's environment settings to the CLI's cluster flags:
// KUBECONFIG, KUBE_CONTEXT, TIMEOUT, NO_PRUNE=1, PRUNE_DATA=1.
func ClusterEnv(prune bool) []string {
	var f []string
	if v := os.Getenv("KUBECONFIG"); v != "" && !strings.Contains(v, string(os.PathListSeparator)) {
		f = append(f, "--kubeconfig", v)
	}
	if v := os.Getenv("KUBE_CONTEXT"); v != "" {
		f = append(f, "--context", v)
	}
	if v := os.Getenv("TIMEOUT"); v != "" {
		f = append(f, "--timeout", v)
	}
	if prune && os.Getenv("NO_PRUNE") == "1" {
		f = append(f, "--no-prune")
	}
	if os.Getenv("PRUNE_DATA") == "1" {
		f = append(f, "--prune-data")
	}
	return f
}

// ConnectEnv maps Mage's environment settings to the flags that choose
// the cluster, for the verbs that only read it (preflight): KUBECONFIG,
// KUBE_CONTEXT.
func ConnectEnv() []string {
	var f []string
	if v := os.Getenv("KUBECONFIG"); v != "" && !strings.Contains(v, string(os.PathListSeparator)) {
		f = append(f, "--kubeconfig", v)
	}
	if v := os.Getenv("KUBE_CONTEXT"); v != "" {
		f = append(f, "--context", v)
	}
	return f
}

// ValuesArgs reads the values files and overrides out of CLI flags
// (-f FILE, --set PATH=VALUE), for targets that call the library
// directly.
func ValuesArgs(args []string) ([]values.Doc, []string, error) {
	var docs []values.Doc
	var sets []string
	for i := 0; i+1 < len(args); i += 2 {
		switch args[i] {
		case "-f":
			d, err := values.ReadFile(args[i+1])
			if err != nil {
				return nil, nil, err
			}
			docs = append(docs, d)
		case "--set":
			sets = append(sets, args[i+1])
		default:
			return nil, nil, fmt.Errorf("%s %s: not a values option here", args[i], args[i+1])
		}
	}
	return docs, sets, nil
}
