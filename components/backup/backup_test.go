package backup

import (
	"strings"
	"testing"
)

func TestStoreValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Store
		want string // substring of the error; "" = valid
	}{
		{"off", Store{}, ""},
		{"aws", Store{Bucket: "iot-backups", Region: "us-east-1"}, ""},
		{"endpoint", Store{Bucket: "b12", Endpoint: "http://127.0.0.1:7070"}, ""},
		{"role", Store{Bucket: "b12", Region: "eu-west-1", RoleARN: "arn:aws:iam::123456789012:role/iot-backup"}, ""},
		{"half set", Store{Region: "us-east-1"}, "bucket: \"\"; empty while"},
		{"upper", Store{Bucket: "IoT", Region: "us-east-1"}, "bucket: \"IoT\""},
		{"short", Store{Bucket: "ab", Region: "us-east-1"}, "3-63"},
		{"dots", Store{Bucket: "a..b", Region: "us-east-1"}, "adjacent dots"},
		{"ip", Store{Bucket: "192.168.1.1", Region: "us-east-1"}, "IP address"},
		{"reserved", Store{Bucket: "xn--abc", Region: "us-east-1"}, "reserved"},
		{"no region", Store{Bucket: "abc"}, "region: \"\""},
		{"bad region", Store{Bucket: "abc", Region: "US East"}, "region: \"US East\""},
		{"prefix slash", Store{Bucket: "abc", Region: "us-east-1", Prefix: "/x"}, "prefix"},
		{"endpoint path", Store{Bucket: "abc", Endpoint: "https://s3.example.com/x"}, "endpoint"},
		{"endpoint scheme", Store{Bucket: "abc", Endpoint: "s3.example.com"}, "endpoint"},
		{"arn", Store{Bucket: "abc", Region: "us-east-1", RoleARN: "iot-backup"}, "roleARN"},
	} {
		err := tc.s.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v; want one containing %q", tc.name, err, tc.want)
		}
	}
}

func TestCheckSchedule(t *testing.T) {
	for _, ok := range []string{"0 1 * * *", "*/15 * * * *", "@daily", "30 2 * * 0"} {
		if err := CheckSchedule(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "0 1 * *", "61 * * * *", "0 0 1 * * *", "TZ=UTC 0 1 * * *", "@fortnightly"} {
		if err := CheckSchedule(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

func TestPrefixAndURL(t *testing.T) {
	s := Store{Bucket: "b12", Endpoint: "http://127.0.0.1:1"}
	if got := s.URL("iot", "postgres"); got != "s3://b12/iot/postgres" {
		t.Errorf("URL = %q", got)
	}
	s.Prefix = "prod/eu"
	if got := s.PrefixFor("iot", "cassandra"); got != "prod/eu/cassandra" {
		t.Errorf("PrefixFor = %q", got)
	}
	if s.EffectiveRegion() != "us-east-1" {
		t.Errorf("EffectiveRegion = %q", s.EffectiveRegion())
	}
}
