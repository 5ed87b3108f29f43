package provision

import (
	"strings"
	"testing"
)

// FuzzChecks: the cluster values' checks never panic, and whatever they
// accept renders and (for EKS) passes the eksctl schema.
func FuzzChecks(f *testing.F) {
	f.Add("tb-basic", "", "1.33", "us-east-1a,us-east-1b", "fs.file-max", "16777216", "192.0.2.2:6443", "1.34.2", 32, 32)
	f.Add("x", "eu-west-1", "1.25", "zone-a", "a.b", "1 2", ":", "1.17.3", -1, 0)
	f.Fuzz(func(t *testing.T, name, region, version, zones, key, value, endpoint, kversion string, pods, volume int) {
		e := testEKS()
		e.Name, e.Region, e.Version, e.MaxPodsPerNode, e.VolumeSize = name, region, version, pods, volume
		e.Topology.Zones = strings.Split(zones, ",")
		e.Sysctls = map[string]string{key: value}
		if err := e.Check(); err == nil {
			data, err := EKSClusterConfig(e)
			if err != nil {
				t.Fatalf("checked values do not render: %v", err)
			}
			if err := CheckEKSClusterConfig(data); err != nil {
				t.Fatal(err)
			}
		}
		k := Kubeadm{Name: name, Version: kversion, ControlPlaneEndpoint: endpoint, Topology: e.Topology}
		if err := k.Check(); err == nil {
			if _, err := KubeadmFiles(k); err != nil {
				t.Fatalf("checked values do not render: %v", err)
			}
		}
	})
}
