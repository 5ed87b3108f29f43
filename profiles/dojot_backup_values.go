package profiles

import "github.com/iotstack/iotstack/components/dojotbackup"

// MongoDBValues are dojot's MongoDB settings beyond its volume size
// (mongodbSize). The backups run on the dojot group's pool; under lean
// their memory requests are half the limits.
type MongoDBValues struct {
	// Backup is a scheduled mongodump of every database (one gzip
	// archive per run) to <backup.store prefix>/mongodb/<UTC
	// stamp>.archive.gz, keeping the newest retain archives; the
	// suspended CronJob mongodb-restore restores one. Needs
	// backup.store.bucket.
	Backup dojotbackup.Config `json:"backup"`
}

// MinIOValues are dojot's MinIO settings beyond its volume size
// (minioSize). MinIO runs in small only (image-manager's store).
type MinIOValues struct {
	// Backup copies every MinIO bucket on a schedule to <backup.store
	// prefix>/minio/<UTC stamp>/<bucket>/, keeping the newest retain
	// copies; the suspended CronJob minio-restore copies one back. Needs
	// backup.store.bucket.
	Backup dojotbackup.Config `json:"backup"`
}
