package apply

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"math/big"

	"github.com/iotstack/iotstack/stack"
)

const passwordAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// Generate returns a fresh value for a declared Secret key, from
// crypto/rand: a password of [A-Za-z0-9] (32 characters unless the key
// says otherwise; about 190 bits), or a Kafka KRaft cluster ID (16 random
// bytes, base64url without padding: 22 characters, the format of
// kafka-storage.sh random-uuid).
func Generate(k stack.SecretKey) (string, error) {
	switch k.Kind {
	case stack.RandomPassword:
		n := k.Length
		if n == 0 {
			n = 32
		}
		if n < 16 || n > 128 {
			return "", fmt.Errorf("length %d: allowed 16 to 128", n)
		}
		b := make([]byte, n)
		max := big.NewInt(int64(len(passwordAlphabet)))
		for i := range b {
			j, err := rand.Int(rand.Reader, max)
			if err != nil {
				return "", err
			}
			b[i] = passwordAlphabet[j.Int64()]
		}
		return string(b), nil
	case stack.ClusterID:
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		return base64.RawURLEncoding.EncodeToString(b), nil
	case stack.UserProvided:
		return "", fmt.Errorf("key %s holds a value only you know (a receiver URL or credential); create the Secret with it before applying", k.Key)
	}
	return "", fmt.Errorf("kind %q: allowed %q, %q", k.Kind, stack.RandomPassword, stack.ClusterID)
}
