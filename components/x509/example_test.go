package x509_test

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/iotstack/iotstack/components/postgres"
	"github.com/iotstack/iotstack/components/x509"
	"github.com/iotstack/iotstack/stack"
)

// dojot's certificate authority on a one-node cluster, its database
// declared on PostgreSQL through the handle, with a 1 GiB volume instead
// of the install guide's 10 MiB. The MongoDB it names is another
// component's (dojot's), which must create the user the handle names.
func Example() {
	s, err := stack.New(stack.Options{Name: "lab", Namespace: "iot", Topology: stack.Topology{
		Zones: []string{"zone-a"},
		Pools: []stack.NodePool{{Name: "main", Arch: "amd64", CPU: resource.MustParse("8"), Memory: resource.MustParse("16Gi"), NodesPerZone: 1}},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	pg, err := postgres.New(s, postgres.Config{Pool: "main", Instances: 1, PoolerReplicas: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	ca, err := x509.New(s, pg, x509.Config{
		Image:    "dojot/x509-identity-mgmt:v0.5.0",
		Pool:     "main",
		MongoURI: "mongodb://mongodb.iot.svc.cluster.local:27017/" + x509.MongoDatabase,
		Storage:  stack.Storage{Size: resource.MustParse("1Gi")},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := s.Synth()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range out.Files {
		fmt.Println(f.Name)
	}
	for _, o := range out.Objects {
		if pvc, ok := o.Object.(*corev1.PersistentVolumeClaim); ok {
			fmt.Println(o.Ref, pvc.Spec.Resources.Requests.Storage(), pvc.Spec.AccessModes)
		}
	}
	fmt.Println(ca.Address, ca.MongoUser, ca.MongoDatabase, ca.MongoPassword.Name)
	fmt.Println(len(pg.Databases()), "database:", pg.Databases()[0].Name)
	// Output:
	// 00-namespace.yaml
	// 01-postgres.yaml
	// 02-x509-identity-mgmt.yaml
	// kustomization.yaml
	// PersistentVolumeClaim/iot/x509-identity-mgmt 1Gi [ReadWriteMany]
	// x509-identity-mgmt.iot.svc.cluster.local:3000 x509-identity-mgmt x509-identity-mgmt x509-identity-mgmt-mongo
	// 1 database: ejbca
}
