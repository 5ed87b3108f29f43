// Package dojot renders the dojot v0.5.0 IoT platform's services for
// Kubernetes, and the external load balancers in front of them (NGINX for
// the few-devices environment, HAProxy for 100k devices), from the same
// inputs: the fixed NodePorts and the workers' addresses.
package dojot
