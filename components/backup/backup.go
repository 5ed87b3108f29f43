// Package backup holds what every datastore's backup shares: the
// S3-compatible object store the backups go to (bucket, prefix, endpoint,
// region, credentials from a declared Secret or a cloud workload
// identity), and the validation of cron schedules and retention, so that
// PostgreSQL, Cassandra and MongoDB backups report bad settings the same
// way.
package backup

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"

	"github.com/robfig/cron/v3"

	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/values"
)

// Secret keys of a store's credentials Secret (declared by the component
// that backs up, user-provided: the apply engine never invents them).
const (
	// AccessKeyID is the key holding the access key ID.
	AccessKeyID = "access-key-id"
	// SecretAccessKey is the key holding the secret access key.
	SecretAccessKey = "secret-access-key"
)

// RoleARNAnnotation is the ServiceAccount annotation of EKS's IAM roles
// for service accounts: the pod identity webhook then injects
// AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE into the pods running as
// the account (AWS documentation "IAM roles for service accounts").
const RoleARNAnnotation = "eks.amazonaws.com/role-arn"

// Store is an S3-compatible object store location.
type Store struct {
	// Bucket is the bucket the backups are written to; empty turns every
	// backup off. S3 naming rules: 3-63 lowercase letters, digits, dots
	// and hyphens, starting and ending with a letter or digit.
	Bucket string `json:"bucket"`
	// Prefix is the key prefix inside the bucket, without leading or
	// trailing slash; each datastore writes below <prefix>/<datastore>/.
	// Empty means the stack's namespace.
	Prefix string `json:"prefix"`
	// Endpoint is the S3 API's URL for a store other than AWS S3
	// (http:// or https://host[:port]); then addressing is path style.
	// Empty means AWS S3 in region.
	Endpoint string `json:"endpoint"`
	// Region of the bucket; required for AWS S3, default us-east-1 with
	// an endpoint.
	Region string `json:"region"`
	// RoleARN is an IAM role the backup pods assume through their
	// ServiceAccount (EKS IAM roles for service accounts); when set, no
	// credentials Secret is declared. Otherwise each datastore declares a
	// Secret <datastore>-backup-s3 with the keys access-key-id and
	// secret-access-key that you create before applying (map several onto
	// one Secret with credentials.existingSecrets).
	RoleARN string `json:"roleARN"`
}

// Enabled reports whether a bucket is set.
func (s Store) Enabled() bool { return s.Bucket != "" }

// EffectiveRegion is Region, or us-east-1 for a custom endpoint without one.
func (s Store) EffectiveRegion() string {
	if s.Region == "" && s.Endpoint != "" {
		return "us-east-1"
	}
	return s.Region
}

// PrefixFor is the key prefix of one datastore's backups:
// <prefix>/<datastore>, where the prefix defaults to namespace.
func (s Store) PrefixFor(namespace, datastore string) string {
	p := s.Prefix
	if p == "" {
		p = namespace
	}
	return p + "/" + datastore
}

// URL is s3://<bucket>/<PrefixFor(namespace, datastore)>.
func (s Store) URL(namespace, datastore string) string {
	return "s3://" + s.Bucket + "/" + s.PrefixFor(namespace, datastore)
}

var (
	bucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	regionRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	arnRE    = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$`)
)

// Validate checks the store when a bucket is set (an empty store is off).
func (s Store) Validate() error {
	if !s.Enabled() {
		if s != (Store{}) {
			return values.Errors{values.Errorf("bucket", "", "empty while other store settings are set; set the bucket or remove the store")}
		}
		return nil
	}
	var errs values.Errors
	if msg := checkBucket(s.Bucket); msg != "" {
		errs = append(errs, values.Errorf("bucket", s.Bucket, "%s", msg))
	}
	if p := s.Prefix; p != "" && (strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.Contains(p, "//") || strings.ContainsAny(p, " \t\n\\")) {
		errs = append(errs, values.Errorf("prefix", p, "a key prefix without leading or trailing slash, empty segments or whitespace (e.g. \"iot/prod\")"))
	}
	if s.Endpoint != "" {
		u, err := url.Parse(s.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			errs = append(errs, values.Errorf("endpoint", s.Endpoint, "an http:// or https:// URL of host[:port] without path, query or credentials (e.g. \"https://s3.example.com\")"))
		}
	} else if s.Region == "" {
		errs = append(errs, values.Errorf("region", "", "empty; AWS S3 (no endpoint) needs the bucket's region, e.g. us-east-1"))
	}
	if s.Region != "" && !regionRE.MatchString(s.Region) {
		errs = append(errs, values.Errorf("region", s.Region, "lowercase letters, digits and hyphens (e.g. us-east-1)"))
	}
	if s.RoleARN != "" && !arnRE.MatchString(s.RoleARN) {
		errs = append(errs, values.Errorf("roleARN", s.RoleARN, "an IAM role ARN, arn:aws:iam::<12-digit account>:role/<name>"))
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// checkBucket applies the S3 bucket naming rules (AWS documentation
// "General purpose bucket naming rules") and returns what is wrong.
func checkBucket(b string) string {
	switch {
	case !bucketRE.MatchString(b):
		return "3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit"
	case strings.Contains(b, ".."):
		return "two adjacent dots are not allowed"
	case net.ParseIP(b) != nil:
		return "an IP address is not a bucket name"
	case strings.HasPrefix(b, "xn--") || strings.HasPrefix(b, "sthree-"):
		return "the prefixes xn-- and sthree- are reserved"
	case strings.HasSuffix(b, "-s3alias") || strings.HasSuffix(b, "--ol-s3"):
		return "the suffixes -s3alias and --ol-s3 are reserved"
	}
	return ""
}

// Credentials declares, on the component c, the user-provided Secret
// <datastore>-backup-s3 with the store's access keys, unless the store
// uses a role (RoleARN), in which case it returns nil and the caller
// annotates the pods' ServiceAccount with RoleARNAnnotation.
func (s Store) Credentials(c *stack.Component, datastore string) *stack.SecretSpec {
	if s.RoleARN != "" {
		return nil
	}
	return c.DeclareSecret(datastore+"-backup-s3",
		stack.SecretKey{Key: AccessKeyID, Kind: stack.UserProvided},
		stack.SecretKey{Key: SecretAccessKey, Kind: stack.UserProvided})
}

// scheduleParser is the parser the Kubernetes CronJob controller
// validates spec.schedule with (robfig/cron v3, standard five fields plus
// the @hourly-style descriptors).
var scheduleParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// CheckSchedule returns an error naming what is wrong with a cron
// schedule ("minute hour day-of-month month day-of-week", or @daily,
// @hourly...), as the CronJob API would refuse it; TZ= prefixes are refused
// (set the CronJob's timeZone instead).
func CheckSchedule(expr string) error {
	if strings.TrimSpace(expr) == "" {
		return fmt.Errorf("empty; a cron schedule such as \"0 1 * * *\" (01:00 every day)")
	}
	if strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=") {
		return fmt.Errorf("a time zone prefix is not allowed in the schedule; schedules run in the controller's time zone (UTC)")
	}
	if _, err := scheduleParser.Parse(expr); err != nil {
		return fmt.Errorf("not a cron schedule (%v); five fields \"minute hour day-of-month month day-of-week\", e.g. \"0 1 * * *\", or @hourly/@daily/@weekly", err)
	}
	return nil
}
