package dojot

import (
	"fmt"

	"github.com/iotstack/iotstack/stack"
)

// MongoDB is what a backup needs of dojot's MongoDB (the service mongodb
// that New added): its address, its port for a consumer's Uses, and the
// administrator's login (the users sidecar creates the user root with the
// role root in the admin database; the password is the key root-password
// of the Secret mongodb-auth).
type MongoDB struct {
	// Component is the MongoDB component.
	Component *stack.Component
	// Host and Port reach mongod through its Service.
	Host string
	Port int32
	// User is the administrator, authenticated against the admin database.
	User string
	// Password is the Secret key of User's password.
	Password stack.SecretKeyRef
}

// Endpoint is mongod's port, for a consumer's Uses.
func (m *MongoDB) Endpoint() stack.Endpoint { return m.Component.Pods("").Port("mongodb") }

// MinIO is what a backup needs of dojot's MinIO (the service minio that
// New added): its S3 endpoint and its access keys (the Secret minio-auth).
type MinIO struct {
	// Component is the MinIO component.
	Component *stack.Component
	// URL is MinIO's S3 endpoint, http://<service host>:9000.
	URL string
	// AccessKey and SecretKey are the Secret keys of MinIO's credentials.
	AccessKey, SecretKey stack.SecretKeyRef
}

// Endpoint is MinIO's S3 port, for a consumer's Uses.
func (m *MinIO) Endpoint() stack.Endpoint { return m.Component.Pods("").Port("s3") }

// MongoDBOf returns dojot's MongoDB in s; an error when New rendered none
// (the service mongodb is not among Config.Services).
func MongoDBOf(s *stack.Stack) (*MongoDB, error) {
	c := s.ComponentByName("mongodb")
	if c == nil {
		return nil, fmt.Errorf("dojot: the stack has no mongodb service")
	}
	return &MongoDB{Component: c, Host: s.ServiceHost("mongodb"), Port: 27017, User: mongoRoot,
		Password: stack.SecretKeyRef{Name: "mongodb-auth", Key: "root-password"}}, nil
}

// MinIOOf returns dojot's MinIO in s; an error when New rendered none
// (the service minio is not among Config.Services).
func MinIOOf(s *stack.Stack) (*MinIO, error) {
	c := s.ComponentByName("minio")
	if c == nil {
		return nil, fmt.Errorf("dojot: the stack has no minio service")
	}
	return &MinIO{Component: c, URL: fmt.Sprintf("http://%s:9000", s.ServiceHost("minio")),
		AccessKey: stack.SecretKeyRef{Name: "minio-auth", Key: "access-key"}, SecretKey: stack.SecretKeyRef{Name: "minio-auth", Key: "secret-key"}}, nil
}
