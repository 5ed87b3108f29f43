#!/usr/bin/env bash
# side-by-side.sh: wall time of iotstack's synthesis beside `helm template` of
# the five Bitnami data-tier charts the ThingsBoard guide "ThingsBoard k8s
# cluster - minimal design" installs
# (ZooKeeper, Kafka, Redis Cluster, Cassandra, PostgreSQL-HA, with that guide's
# --set values), each as a whole process with a warm build cache:
#
#   helm       the five `helm template` runs, one after the other
#   iotstack   go tool iotstack synth all -o TMP
#   mage       go tool mage synth profile=all out=TMP
#
# It prints the mean (and median) wall time of each and the ratios
# iotstack/helm and mage/helm, and the mean CPU time (user + system, all
# processes) of each, which a busy shared machine disturbs less than wall
# time. Targets (README "Performance", on wall time): iotstack at most 0.5,
# mage at most 1.0.
#
# Usage:
#   HELM=/path/to/helm CHARTS=/path/to/charts scripts/side-by-side.sh [options]
#
# Options:
#   --helm PATH     the helm binary (default: $HELM, else `helm` on PATH)
#   --charts DIR    the charts directory (default: $CHARTS)
#   --runs N        measured repetitions of each command (default: $RUNS or 15)
#   --warmup N      unmeasured runs of each command first (default: 2)
#   --loop          time with the built-in loop even if hyperfine is present
#   --install       install hyperfine with apt-get first (the only thing this
#                   script ever installs, and only with this flag)
#   -h, --help      this text
#
# The script downloads nothing. Obtain helm and the charts once:
#
#   helm 3 (any v3; the README's figures use v3.22.0), built from the Go module
#   proxy into a cache outside the repository:
#     GOBIN=~/.cache/iotstack/tools go install helm.sh/helm/v3/cmd/helm@v3.22.0
#
#   the charts: CHARTS must hold the directories zookeeper, kafka,
#   redis-cluster, cassandra and postgresql-ha as in
#   https://github.com/bitnami/charts/tree/main/bitnami, each with its `common`
#   dependency copied into its charts/ directory (helm template then works
#   offline), for example from a clone of github.com/bitnami/charts:
#     git -C charts archive HEAD bitnami/{zookeeper,kafka,redis-cluster,cassandra,postgresql-ha,common} \
#       | tar -x -C /tmp/iotstack-charts --strip-components=1
#     for c in zookeeper kafka redis-cluster cassandra postgresql-ha; do
#       mkdir -p /tmp/iotstack-charts/$c/charts
#       cp -r /tmp/iotstack-charts/common /tmp/iotstack-charts/$c/charts/
#     done
#   (or `helm pull bitnami/<chart> --untar`, which includes charts/common).
#
# Timing: with hyperfine (Debian package `hyperfine`) each command gets its own
# hyperfine series; without it (or with --loop) every round runs the three
# commands one after the other, in an order that rotates each round, so that
# load from other processes on a shared machine falls on all three alike.
# Exit status: 0 measured (whether or not the targets are met), 2 bad usage or
# missing helm, charts or go.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
die() {
	echo "side-by-side: $*" >&2
	exit 2
}

helm_bin=${HELM:-}
charts=${CHARTS:-}
runs=${RUNS:-15}
warmup=2
force_loop=0
install=0
while (($#)); do
	case $1 in
	--helm) helm_bin=${2:?--helm needs a path}; shift 2 ;;
	--charts) charts=${2:?--charts needs a directory}; shift 2 ;;
	--runs) runs=${2:?--runs needs a number}; shift 2 ;;
	--warmup) warmup=${2:?--warmup needs a number}; shift 2 ;;
	--loop) force_loop=1; shift ;;
	--install) install=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs $runs: want a whole number of at least 1"
[[ $warmup =~ ^[0-9]+$ ]] || die "--warmup $warmup: want a whole number"

if ((install)) && ! command -v hyperfine >/dev/null; then
	sudo=()
	((EUID == 0)) || sudo=(sudo -n)
	"${sudo[@]}" apt-get install -y hyperfine
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
command -v go >/dev/null || die "go is not on PATH"
if [[ -z $helm_bin ]]; then
	helm_bin=$(command -v helm || true)
fi
[[ -n $helm_bin && -x $helm_bin ]] ||
	die "no helm binary: pass --helm PATH or HELM=PATH (build one: GOBIN=~/.cache/iotstack/tools go install helm.sh/helm/v3/cmd/helm@v3.22.0)"
[[ -n $charts ]] || die "no charts directory: pass --charts DIR or CHARTS=DIR (see --help for how to obtain the charts)"
[[ -d $charts ]] || die "charts directory $charts does not exist"
charts=$(cd "$charts" && pwd)
for c in zookeeper kafka redis-cluster cassandra postgresql-ha; do
	[[ -f $charts/$c/Chart.yaml ]] || die "$charts/$c/Chart.yaml missing: CHARTS must hold the chart directories zookeeper, kafka, redis-cluster, cassandra, postgresql-ha"
	[[ -f $charts/$c/charts/common/Chart.yaml ]] || die "$charts/$c/charts/common missing: copy bitnami/common into each chart's charts/ directory (see --help)"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/side-by-side.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The five helm runs of the guide ("Setup databases with Helm"), `helm
# upgrade --install NAME bitnami/CHART` replaced by `helm template NAME
# CHART_DIR` with the same --set values; the output goes to files, as
# iotstack's does.
cat >"$tmp/helm-five.sh" <<'EOF'
#!/usr/bin/env bash
set -euo pipefail
helm=$1 charts=$2 out=$3
"$helm" template kafka "$charts/kafka" \
  --set replicaCount=3 \
  --set offsetsTopicReplicationFactor=3 \
  --set transactionStateLogReplicationFactor=3 \
  --set defaultReplicationFactor=2 \
  --set metrics.kafka.enabled=true \
  --set metrics.serviceMonitor.enabled=true \
  --set persistence.size=20Gi \
  --set resources.requests.cpu=300m \
  --set resources.requests.memory=2Gi \
  --set resources.limits.cpu=3000m \
  --set resources.limits.memory=2Gi \
  --set podAntiAffinityPreset=hard \
  --set pdb.create=true \
  --set pdb.maxUnavailable=1 >"$out/kafka.yaml"
"$helm" template zookeeper "$charts/zookeeper" \
  --set replicaCount=3 \
  --set persistence.size=1Gi \
  --set dataLogDir=/bitnami/zookeeper/log \
  --set persistence.dataLogDir.size=1Gi \
  --set heapSize=256 \
  --set autopurge.purgeInterval=24 \
  --set jvmFlags=-Dzookeeper.electionPortBindRetry=0 \
  --set resources.requests.cpu=50m \
  --set resources.requests.memory=512Mi \
  --set resources.limits.cpu=500m \
  --set resources.limits.memory=512Mi \
  --set metrics.enabled=true \
  --set metrics.serviceMonitor.enabled=true \
  --set podAntiAffinityPreset=hard \
  --set pdb.create=true \
  --set pdb.maxUnavailable=1 >"$out/zookeeper.yaml"
"$helm" template cassandra "$charts/cassandra" \
  --set replicaCount=3 \
  --set persistence.size=50Gi \
  --set persistence.commitLogsize=2Gi \
  --set persistence.commitLogMountPath=/bitnami/cassandra/commitlog \
  --set cluster.name=cassandra \
  --set cluster.datacenter=datacenter1 \
  --set cluster.seedCount=3 \
  --set jvm.maxHeapSize=2048M \
  --set jvm.newHeapSize=400M \
  --set resources.requests.cpu=300m \
  --set resources.requests.memory=4Gi \
  --set resources.limits.cpu=3000m \
  --set resources.limits.memory=4Gi \
  --set metrics.enabled=true \
  --set metrics.serviceMonitor.enabled=true \
  --set metrics.serviceMonitor.namespace=thingsboard \
  --set podAntiAffinityPreset=hard \
  --set pdb.create=true \
  --set pdb.minAvailable=0 \
  --set pdb.maxUnavailable=1 >"$out/cassandra.yaml"
"$helm" template redis "$charts/redis-cluster" \
  --set cluster.nodes=6 \
  --set cluster.replicas=1 \
  --set redis.useAOFPersistence=no \
  --set fullnameOverride=redis \
  --set redis.resources.requests.cpu=100m \
  --set redis.resources.requests.memory=1Gi \
  --set redis.resources.limits.cpu=1000m \
  --set redis.resources.limits.memory=1Gi \
  --set redis.podAntiAffinityPreset=soft \
  --set persistence.size=2Gi \
  --set podDisruptionBudget.maxUnavailable=1 \
  --set metrics.enabled=true \
  --set metrics.serviceMonitor.enabled=true >"$out/redis.yaml"
"$helm" template postgresql "$charts/postgresql-ha" \
  --set fullnameOverride=postgresql \
  --set postgresql.database=thingsboard \
  --set postgresql.replicaCount=3 \
  --set postgresql.maxConnections=250 \
  --set 'postgresql.sharedPreloadLibraries=pgaudit\,repmgr\,pg_stat_statements' \
  --set pgpool.replicaCount=1 \
  --set pgpool.numInitChildren=200 \
  --set pgpool.useLoadBalancing=false \
  --set persistence.size=30Gi \
  --set postgresqlImage.debug=true \
  --set pgpoolImage.debug=true \
  --set postgresql.resources.requests.cpu=300m \
  --set postgresql.resources.requests.memory=4Gi \
  --set postgresql.resources.limits.cpu=3000m \
  --set postgresql.resources.limits.memory=4Gi \
  --set pgpool.resources.requests.cpu=100m \
  --set pgpool.resources.requests.memory=1Gi \
  --set pgpool.resources.limits.cpu=1000m \
  --set pgpool.resources.limits.memory=1Gi \
  --set postgresql.readinessProbe.enabled=false \
  --set postgresql.startupProbe.enabled=true \
  --set postgresql.startupProbe.failureThreshold=100 \
  --set postgresql.podAntiAffinityPreset=hard \
  --set pgpool.podAntiAffinityPreset=hard \
  --set metrics.enabled=true \
  --set metrics.serviceMonitor.enabled=true \
  --set postgresql.pdb.create=true \
  --set postgresql.pdb.minAvailable=0 \
  --set postgresql.pdb.maxUnavailable=1 \
  --set postgresql.extendedConfCM=psql-override-conf >"$out/postgresql.yaml"
EOF
chmod +x "$tmp/helm-five.sh"
mkdir -p "$tmp/helm" "$tmp/iotstack" "$tmp/mage"

q() { printf '%q' "$1"; }
names=(helm iotstack mage)
cmds=(
	"$(q "$tmp/helm-five.sh") $(q "$helm_bin") $(q "$charts") $(q "$tmp/helm")"
	"go tool iotstack synth all -o $(q "$tmp/iotstack")"
	"go tool mage synth profile=all out=$(q "$tmp/mage")"
)

cd "$root"
# One run of each, checked, before anything is timed: a failing command is an
# error, not a fast time. It also warms the build cache (go tool builds the
# iotstack CLI and Mage, Mage compiles the magefile).
for i in "${!cmds[@]}"; do
	if ! bash -c "${cmds[i]}" >"$tmp/check.log" 2>&1; then
		cat "$tmp/check.log" >&2
		die "${names[i]} failed: ${cmds[i]}"
	fi
done
objects=$(cat "$tmp/helm"/*.yaml | grep -c '^kind:' || true)
files=$(find "$tmp/iotstack" -type f | wc -l)

# now sets REPLY to the wall clock in seconds (bash 5's EPOCHREALTIME, no
# process; date +%s.%N before bash 5).
now() {
	if [[ -n ${EPOCHREALTIME:-} ]]; then
		REPLY=${EPOCHREALTIME/,/.}
	else
		REPLY=$(date +%s.%N)
	fi
}

declare -A mean median cpu
# children_cpu sets REPLY to the user+system CPU seconds of this shell's
# finished children (bash's times builtin must run in this shell, not in a
# command substitution's subshell).
children_cpu() {
	times >"$tmp/times"
	REPLY=$(awk 'NR == 2 {
		split($1, u, "m"); split($2, s, "m"); sub("s", "", u[2]); sub("s", "", s[2])
		printf "%.3f", u[1] * 60 + u[2] + s[1] * 60 + s[2]
	}' "$tmp/times")
}
if command -v hyperfine >/dev/null && ((!force_loop)); then
	method="hyperfine $(hyperfine --version | awk '{print $2}'), $warmup warm-up and $runs measured runs per command"
	for i in "${!cmds[@]}"; do
		hyperfine --style basic --shell bash --warmup "$warmup" --runs "$runs" \
			--export-csv "$tmp/${names[i]}.csv" --command-name "${names[i]}" "${cmds[i]}" >&2
		# command,mean,stddev,median,user,system,min,max
		mean[${names[i]}]=$(awk -F, 'NR==2 {print $2}' "$tmp/${names[i]}.csv")
		median[${names[i]}]=$(awk -F, 'NR==2 {print $4}' "$tmp/${names[i]}.csv")
		cpu[${names[i]}]=$(awk -F, 'NR==2 {printf "%.4f", $5 + $6}' "$tmp/${names[i]}.csv")
	done
else
	method="loop, $warmup warm-up and $runs measured rounds, the three commands in a rotating order each round"
	n=${#cmds[@]}
	for ((r = 0; r < warmup + runs; r++)); do
		for ((k = 0; k < n; k++)); do
			i=$(((r + k) % n))
			children_cpu
			c0=$REPLY
			now
			t0=$REPLY
			bash -c "${cmds[i]}" >/dev/null 2>&1 || die "${names[i]} failed in round $r: ${cmds[i]}"
			now
			t1=$REPLY
			children_cpu
			c1=$REPLY
			((r < warmup)) || echo "$t0 $t1 $c0 $c1" >>"$tmp/${names[i]}.times"
		done
	done
	for name in "${names[@]}"; do
		awk '{print $2 - $1}' "$tmp/$name.times" | sort -g >"$tmp/$name.sorted"
		mean[$name]=$(awk '{s += $1} END {printf "%.4f", s / NR}' "$tmp/$name.sorted")
		cpu[$name]=$(awk '{s += $4 - $3} END {printf "%.4f", s / NR}' "$tmp/$name.times")
		median[$name]=$(awk '{v[NR] = $1} END {printf "%.4f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}' "$tmp/$name.sorted")
	done
fi

helm_version=$("$helm_bin" version --template '{{.Version}}' 2>/dev/null || echo unknown)
helm_mod=$(go version -m "$helm_bin" 2>/dev/null | awk '$1 == "mod" && $2 == "helm.sh/helm/v3" {print $3}')
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || echo unknown)
echo
echo "machine:  $(nproc) CPU, ${cpu}, $(awk '/^MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "versions: $(go version | awk '{print $3}'), helm ${helm_mod:-$helm_version}, charts:$(for c in zookeeper kafka redis-cluster cassandra postgresql-ha; do printf ' %s-%s' "$c" "$(awk '/^version:/ {print $2}' "$charts/$c/Chart.yaml")"; done)"
echo "output:   helm $objects objects in 5 files; iotstack $files files (three profiles)"
echo "method:   $method"
echo
printf '%-10s %10s %10s %12s %10s %11s  %s\n' what "mean (s)" "median (s)" "mean / helm" "CPU (s)" "CPU / helm" command
for i in "${!names[@]}"; do
	name=${names[i]}
	ratio=$(awk -v a="${mean[$name]}" -v b="${mean[helm]}" 'BEGIN {printf "%.2f", a / b}')
	cratio=$(awk -v a="${cpu[$name]}" -v b="${cpu[helm]}" 'BEGIN {printf "%.2f", (b > 0) ? a / b : 0}')
	label=${cmds[i]}
	[[ $name == helm ]] && label="helm template of the five charts (5 processes)"
	printf '%-10s %10.3f %10.3f %12s %10.3f %11s  %s\n' "$name" "${mean[$name]}" "${median[$name]}" "$ratio" "${cpu[$name]}" "$cratio" "$label"
done
echo
awk -v i="${mean[iotstack]}" -v m="${mean[mage]}" -v h="${mean[helm]}" 'BEGIN {
	printf "iotstack/helm %.2f (target at most 0.50: %s)\n", i / h, (i / h <= 0.5) ? "met" : "NOT met"
	printf "mage/helm     %.2f (target at most 1.00: %s)\n", m / h, (m / h <= 1.0) ? "met" : "NOT met"
}'
