package profiles

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/iotstack/iotstack/stack"
)

// podTemplate is the pod template of a workload, nil for other objects.
func podTemplate(o stack.Object) *corev1.PodTemplateSpec {
	switch x := o.(type) {
	case *appsv1.Deployment:
		return &x.Spec.Template
	case *appsv1.StatefulSet:
		return &x.Spec.Template
	case *appsv1.DaemonSet:
		return &x.Spec.Template
	case *batchv1.Job:
		return &x.Spec.Template
	case *batchv1.CronJob:
		return &x.Spec.JobTemplate.Spec.Template
	}
	return nil
}

// podSpecs returns every pod template of the output, by object reference.
func podSpecs(out *stack.Output) map[string]corev1.PodSpec {
	specs := map[string]corev1.PodSpec{}
	for _, r := range out.Objects {
		if t := podTemplate(r.Object); t != nil {
			specs[r.Ref.String()] = t.Spec
		}
	}
	return specs
}

func tolerates(spec corev1.PodSpec, pool string) bool {
	for _, tol := range spec.Tolerations {
		if tol.Key == "dedicated" && tol.Value == pool {
			return true
		}
	}
	return false
}

// TestDojotLoadTestPart: 100k renders its load test into loadtest/ by
// default (small does not), every load test pod goes to the tainted
// client pool, and no pod of the stack or its monitoring tolerates the
// client pool's taint, so nothing else lands there.
func TestDojotLoadTestPart(t *testing.T) {
	for _, name := range []string{Small, Hundred} {
		p, _ := Get(name)
		b, err := p.BuildAll(Options{})
		if err != nil {
			t.Fatal(err)
		}
		var lt *stack.Stack
		for _, part := range b.Parts {
			if part.Dir == LoadTestDir {
				lt = part.Stack
			}
		}
		if name == Small {
			if lt != nil {
				t.Errorf("small renders a load test")
			}
			continue
		}
		if lt == nil {
			t.Fatalf("100k renders no %s/ part", LoadTestDir)
		}
		out, err := lt.Synth()
		if err != nil {
			t.Fatal(err)
		}
		specs := podSpecs(out)
		if len(specs) != 4 {
			t.Errorf("load test pod templates %d; want 4 (redis, certificates, master, workers)", len(specs))
		}
		for ref, spec := range specs {
			na := spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution
			if !tolerates(spec, LoadTestClientPool) || na == nil || na.NodeSelectorTerms[0].MatchExpressions[0].Values[0] != LoadTestClientPool {
				t.Errorf("%s: not pinned to the client pool", ref)
			}
		}
		var jobs []string
		for _, r := range out.Objects {
			if j, ok := r.Object.(*batchv1.Job); ok {
				jobs = append(jobs, j.Name)
				if j.Spec.ActiveDeadlineSeconds == nil {
					t.Errorf("Job %s is unbounded", j.Name)
				}
			}
		}
		if strings.Join(jobs, " ") != "locust-certificates locust-master locust-worker" {
			t.Errorf("load test Jobs %v", jobs)
		}
		for _, part := range append([]Part{{Dir: ".", Stack: b.Stack}}, b.Parts...) {
			if part.Dir == LoadTestDir {
				continue
			}
			po, err := part.Stack.Synth()
			if err != nil {
				t.Fatal(err)
			}
			for ref, spec := range podSpecs(po) {
				if tolerates(spec, LoadTestClientPool) {
					t.Errorf("%s/%s tolerates the client pool's taint", part.Dir, ref)
				}
			}
		}
	}
}

// TestDojotLoadTestValues: a worker asked more connections than its port
// range allows, a missing client pool, and a fractional duration are
// refused with their values paths.
func TestDojotLoadTestValues(t *testing.T) {
	for _, tc := range []struct {
		profile string
		sets    []string
		want    []string
	}{
		{Hundred, []string{"loadTest.workers=3"}, []string{"loadTest.workers", "33334 connections per worker pod", "28232", "use at least 4 workers"}},
		{Hundred, []string{"loadTest.clients=60000", "loadTest.workers=2"}, []string{"loadTest.workers", "30000 connections per worker pod"}},
		{Hundred, []string{"loadTest.pool=generators"}, []string{"loadTest.pool", "generators", "not a pool of topology.pools"}},
		{Hundred, []string{"loadTest.duration=90500ms"}, []string{"loadTest.duration", "whole seconds"}},
		{Hundred, []string{"loadTest.hatchRate=20000"}, []string{"loadTest.hatchRate", "20000"}},
		{Small, []string{"loadTest.enabled=true"}, []string{"loadTest.pool", "client", "not a pool of topology.pools"}},
	} {
		_, err := loadDojot(t, tc.profile, tc.sets...)
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s --set %v: %v; want an error containing %q", tc.profile, tc.sets, err, w)
			}
		}
	}
	// Within the range: 28,232 clients per worker.
	if _, err := loadDojot(t, Hundred, "loadTest.clients=56464", "loadTest.workers=2"); err != nil {
		t.Errorf("28232 clients per worker: %v", err)
	}
	// Off: nothing is checked.
	if _, err := loadDojot(t, Hundred, "loadTest.enabled=false", "loadTest.workers=3"); err != nil {
		t.Errorf("disabled load test: %v", err)
	}
}
