package authblock

import (
	"testing"

	"github.com/tigerstudio/studio/infra/config/configtest"
)

func TestConfig(t *testing.T) {
	cloud := map[string]string{"GCLOUD_PROJECT": "p", "AUTH_BLOCKING_AUDIENCE": "https://region-p.cloudfunctions.net/beforeCreate"}
	configtest.Run(t, func() *Config { return new(Config) }, []configtest.Case{
		{Name: "cloud", Env: cloud},
		{Name: "emulator needs no audience", Env: map[string]string{"GCLOUD_PROJECT": "p", "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099"}},
		{Name: "everything missing, reported at once", Env: map[string]string{}, Want: []string{"GCLOUD_PROJECT", "AUTH_BLOCKING_AUDIENCE"}},
		{Name: "bad log level", Env: configtest.With(cloud, "LOG_LEVEL", "loud"), Want: []string{"LOG_LEVEL"}},
	})
}
