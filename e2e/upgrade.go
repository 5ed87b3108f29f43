package e2e

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/iotstack/iotstack/apply"
	"github.com/iotstack/iotstack/components/thingsboard"
	"github.com/iotstack/iotstack/profiles"
	"github.com/iotstack/iotstack/stack"
)

// UpgradeFromVersion is the ThingsBoard release mage e2e installs first
// on minimal-3az, before it upgrades to thingsboard.Version: a release
// 4.3.1 upgrades from (it accepts 4.2.1.x and 4.2.2.x:
// DefaultDatabaseSchemaSettingsService.SUPPORTED_VERSIONS_FOR_UPGRADE,
// thingsboard/thingsboard v4.3.1).
const UpgradeFromVersion = "4.2.1"

// installJob is the name of the install/upgrade Job in a rendered
// ThingsBoard stack.
func installJob(out *stack.Output) (string, error) {
	var names []string
	for _, o := range out.Objects {
		if j, ok := o.Object.(*batchv1.Job); ok && (strings.HasPrefix(j.Name, "tb-install-") || strings.HasPrefix(j.Name, "tb-upgrade-")) {
			names = append(names, j.Name)
		}
	}
	if len(names) != 1 {
		return "", fmt.Errorf("stack %s: want one ThingsBoard install Job, found %v", out.Stack, names)
	}
	return names[0], nil
}

// CheckUpgrade checks what an upgrade from `from` to `to` logged: the
// plan of the Job of `to` (its wait-for-databases init container) read
// `from` in tb_schema_settings and chose the upgrade, and every
// wait-for-schema init container of a pod of `to` (pod name → log)
// found the database recording `to`.
func CheckUpgrade(planLog string, waitLogs map[string]string, from, to string) error {
	if want := fmt.Sprintf("the database records ThingsBoard %s: upgrading to %s", from, to); !strings.Contains(planLog, want) {
		return fmt.Errorf("upgrade %s → %s: the install Job's plan did not say %q; it logged:\n%s", from, to, want, planLog)
	}
	if len(waitLogs) == 0 {
		return fmt.Errorf("upgrade %s → %s: no pod of %s waited for its schema", from, to, to)
	}
	pods := make([]string, 0, len(waitLogs))
	for p := range waitLogs {
		pods = append(pods, p)
	}
	sort.Strings(pods)
	for _, p := range pods {
		if want := fmt.Sprintf("the schema of ThingsBoard %s is in place", to); !strings.Contains(waitLogs[p], want) {
			return fmt.Errorf("upgrade %s → %s: pod %s did not find the database recording %s; it logged:\n%s", from, to, p, to, waitLogs[p])
		}
	}
	return nil
}

// upgradeThingsBoard applies minimal-3az again with version `to` over
// the running `from`, waits (the engine waits for the Job and the
// rolled Deployments), checks the recorded version through the logs of
// the Job and the new pods, and runs the smoke check again.
func upgradeThingsBoard(ctx context.Context, cfg *rest.Config, eng *apply.Engine, opts profiles.Options, from, to string, ca *CA, log io.Writer) error {
	opts.ThingsBoardVersion = to
	out, err := Synth(profiles.Minimal3AZ, opts)
	if err != nil {
		return err
	}
	job, err := installJob(out)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "upgrading ThingsBoard %s → %s (Job %s)\n", from, to, job)
	res, err := eng.Apply(ctx, out)
	if err != nil {
		return fmt.Errorf("upgrade %s → %s: %w", from, to, err)
	}
	fmt.Fprintf(log, "ThingsBoard %s ready after %s\n", to, res.Ready.Round(time.Second))
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	planLog, err := containerLogs(ctx, cs, out.Namespace, "job-name="+job, "wait-for-databases")
	if err != nil {
		return err
	}
	waits, err := podLogs(ctx, cs, out.Namespace, "wait-for-schema", ":"+to)
	if err != nil {
		return err
	}
	if err := CheckUpgrade(strings.Join(planLog, "\n"), waits, from, to); err != nil {
		return err
	}
	fmt.Fprintf(log, "upgrade: the Job upgraded from %s; %d pods found the schema of %s in place\n", from, len(waits), to)
	return smoke(ctx, cfg, profiles.Minimal3AZ, out.Namespace, Broker{}, 0, ca, log)
}

// containerLogs are the logs of container in the pods matching selector.
func containerLogs(ctx context.Context, cs kubernetes.Interface, ns, selector, container string) ([]string, error) {
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	var logs []string
	for _, p := range pods.Items {
		l, err := logOf(ctx, cs, p, container)
		if err != nil {
			return nil, err
		}
		logs = append(logs, l)
	}
	return logs, nil
}

// podLogs maps every pod with init container `container` whose first
// container's image ends with imageSuffix to that init container's log.
func podLogs(ctx context.Context, cs kubernetes.Interface, ns, container, imageSuffix string) (map[string]string, error) {
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	logs := map[string]string{}
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil || len(p.Spec.Containers) == 0 || !strings.HasSuffix(p.Spec.Containers[0].Image, imageSuffix) || !hasInit(p, container) {
			continue
		}
		l, err := logOf(ctx, cs, p, container)
		if err != nil {
			return nil, err
		}
		logs[p.Name] = l
	}
	return logs, nil
}

func hasInit(p corev1.Pod, name string) bool {
	for _, c := range p.Spec.InitContainers {
		if c.Name == name {
			return true
		}
	}
	return false
}

func logOf(ctx context.Context, cs kubernetes.Interface, p corev1.Pod, container string) (string, error) {
	b, err := cs.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: container}).DoRaw(ctx)
	if err != nil {
		return "", fmt.Errorf("logs of %s/%s: %w", p.Name, container, err)
	}
	return string(b), nil
}

// upgradeTarget is the release mage e2e upgrades to: the default.
const upgradeTarget = thingsboard.Version
