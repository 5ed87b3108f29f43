// Package kubeadmcheck holds the strict decoding test of the kubeadm
// configuration iotstack renders into dist/<profile>/cluster/ (package
// provision). It lives in the simulated cluster's tools module, which
// already requires k8s.io/kubernetes, so that the main module does not:
// run it with `cd test/tools/kubernetes && go test ./kubeadmcheck/`.
package kubeadmcheck
