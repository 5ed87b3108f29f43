package postgres_test

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/iotstack/iotstack/components/postgres"
	"github.com/iotstack/iotstack/stack"
)

// PostgreSQL HA (Patroni on Spilo) with three poolers instead of two, and a
// database declared through the handle: consumers connect to the pooler
// and read their password from the database's Secret key.
func Example() {
	s, err := stack.New(stack.Options{Name: "lab", Namespace: "iot", Topology: stack.Topology{
		Zones: []string{"zone-a", "zone-b", "zone-c"},
		Pools: []stack.NodePool{{Name: "main", Arch: "arm64", CPU: resource.MustParse("4"), Memory: resource.MustParse("16Gi"), NodesPerZone: 1}},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	pg, err := postgres.New(s, postgres.Config{Pool: "main", PoolerReplicas: 3})
	if err != nil {
		fmt.Println(err)
		return
	}
	app, err := pg.Database(postgres.DatabaseSpec{Name: "inventory"})
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
		switch w := o.Object.(type) {
		case *appsv1.StatefulSet:
			fmt.Println(o.Ref, *w.Spec.Replicas)
		case *appsv1.Deployment:
			fmt.Println(o.Ref, *w.Spec.Replicas)
		}
	}
	fmt.Println(pg.PoolerHost(), pg.Port)
	fmt.Printf("%+v\n", app)
	// Output:
	// 00-namespace.yaml
	// 01-postgres.yaml
	// kustomization.yaml
	// Deployment/iot/postgres-pooler 3
	// StatefulSet/iot/postgres 3
	// postgres-pooler.iot.svc.cluster.local 5432
	// {Name:inventory User:inventory Host:postgres-pooler.iot.svc.cluster.local Port:5432 Password:{Name:postgres-user-inventory Key:password} CreateDB:false PasswordEncryption:}
}

// A restore target time must carry its zone; it is rendered as
// PostgreSQL reads it, keeping the offset.
func ExampleParseTargetTime() {
	t, err := postgres.ParseTargetTime("2026-12-01T09:30:00+01:00")
	fmt.Println(postgres.RecoveryTargetTime(t), err)
	_, err = postgres.ParseTargetTime("2026-12-01T09:30:00")
	fmt.Println(err != nil)
	// Output:
	// 2026-12-01 09:30:00+01:00 <nil>
	// true
}
