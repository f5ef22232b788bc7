package store_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/tigerstudio/studio/infra/store"
)

// TestWriterScopes pins each component's writer to the methods DESIGN.md's
// write scopes allow: a new write method is a deliberate change here.
func TestWriterScopes(t *testing.T) {
	tests := []struct {
		writer any
		want   []string
	}{
		{&store.GatewayWriter{}, []string{"AddDeviceToken", "CreateRequest", "DeleteRequest", "MarkEnqueued"}},
		{&store.WorkerWriter{}, []string{"Abandon", "Begin", "Fail", "Succeed"}},
		{&store.NotifyWriter{}, []string{"Claim", "Complete", "MarkSent", "Release"}},
	}
	for _, tc := range tests {
		typ := reflect.TypeOf(tc.writer)
		var got []string
		for i := range typ.NumMethod() {
			got = append(got, typ.Method(i).Name)
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s methods = %v, want %v", typ, got, tc.want)
		}
	}
}
