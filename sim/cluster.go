package sim

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Cluster is a running simulated cluster made by kwokctl with the binary
// runtime and the locally built programs (no download, no container).
type Cluster struct {
	Name       string
	Kubeconfig string
	workdir    string
	tools      *Tools
	log        io.Writer
}

// StartCluster creates a simulated cluster named name. Its state lives in
// a temporary directory that Stop removes.
func StartCluster(ctx context.Context, tools *Tools, name string, log io.Writer) (*Cluster, error) {
	workdir, err := os.MkdirTemp("", "iotstack-sim-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Name: name, workdir: workdir, tools: tools, log: log}
	args := []string{
		"create", "cluster", "--name", name, "--runtime", "binary",
		"--kube-apiserver-binary", tools.APIServer,
		"--kube-controller-manager-binary", tools.ControllerManager,
		"--kube-scheduler-binary", tools.Scheduler,
		"--etcd-binary", tools.Etcd,
		"--kwok-controller-binary", tools.Kwok,
		"--kubeconfig", filepath.Join(workdir, "user-kubeconfig.yaml"), // never the user's ~/.kube/config
		"--disable-qps-limits",
		"--wait", "2m",
	}
	if err := c.kwokctl(ctx, args...); err != nil {
		c.Stop()
		return nil, err
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, tools.Kwokctl, "get", "kubeconfig", "--name", name)
	cmd.Env = c.env()
	cmd.Stdout, cmd.Stderr = &out, log
	if err := cmd.Run(); err != nil {
		c.Stop()
		return nil, fmt.Errorf("kwokctl get kubeconfig: %w", err)
	}
	c.Kubeconfig = filepath.Join(workdir, "kubeconfig.yaml")
	if err := os.WriteFile(c.Kubeconfig, out.Bytes(), 0o600); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) env() []string {
	return append(os.Environ(), "KWOK_WORKDIR="+c.workdir)
}

func (c *Cluster) kwokctl(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, c.tools.Kwokctl, args...)
	cmd.Env = c.env()
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kwokctl %s: %w\n%s", args[0]+" "+args[1], err, buf.String())
	}
	return nil
}

// RESTConfig is the client configuration of the cluster.
func (c *Cluster) RESTConfig() (*rest.Config, error) {
	return clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
}

// Stop deletes the cluster, stops its processes and removes its state.
func (c *Cluster) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.kwokctl(ctx, "delete", "cluster", "--name", c.Name); err != nil {
		fmt.Fprintln(c.log, err)
	}
	os.RemoveAll(c.workdir)
}
