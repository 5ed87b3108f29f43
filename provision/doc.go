// Package provision renders the configuration of the cluster beneath a
// stack from the same topology the stack is placed on (stack.Topology): the
// nodes a profile's workloads are scheduled to are the nodes these files
// create.
//
//   - EKSClusterConfig: an eksctl ClusterConfig (eksctl.io/v1alpha5) for the
//     AWS profiles, as the ThingsBoard article ("ThingsBoard k8s cluster -
//     minimal design") sets its cluster up: one managed node group per pool
//     with its labels, taints, instance type, maxPodsPerNode, gp3 root
//     volume and the article's preBootstrapCommands (sysctls, file
//     limits), the EBS CSI driver add-on and the AWS Load Balancer
//     Controller's IAM service account.
//   - Kubeadm: kubeadm v1beta4 configuration for the dojot v0.5.0
//     installation guide's bare-metal cluster: an InitConfiguration and
//     ClusterConfiguration for the control plane and a JoinConfiguration
//     per node group registering its nodes with the group's labels
//     (dojot.components/group=...) and taints.
//   - PrepareNodeScript: the node preparation the guide does by hand: the
//     local volumes' directories under /mnt/data, derived from the rendered
//     PersistentVolumes, owned as the pods that mount them need, and the
//     HAProxy host's ip_local_port_range.
//
// What remains, and why:
//   - The article's kube-proxy conntrack setting (conntrack.min 16777216)
//     cannot be expressed in eksctl's configuration: the EKS kube-proxy
//     add-on's configuration schema has no conntrack section (requested in
//     aws/containers-roadmap#2318 and #2385, open), and a node sysctl is no
//     substitute, as kube-proxy writes net.netfilter.nf_conntrack_max
//     itself at start whenever it differs from its computed value
//     (cmd/kube-proxy/app/conntrack.go, setIntSysCtl, Kubernetes v1.34.2).
//     The rendered eksctl.yaml states the article's post-create step
//     instead (EKS.ConntrackMin).
//   - The AWS Load Balancer Controller itself is installed with its Helm
//     chart, as the article does; eksctl only creates its IAM role and
//     service account (wellKnownPolicies.awsLoadBalancerController).
//   - kubeadm's bootstrap token and CA hash are credentials; the join
//     configurations carry ${KUBEADM_TOKEN} and ${KUBEADM_CA_CERT_HASH}
//     placeholders to be filled in at join time (envsubst), never values.
package provision
