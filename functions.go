// Package studio is the root of the module, the package Cloud Functions
// builds. The Go buildpack ignores GOOGLE_FUNCTION_SOURCE: it parses the Go
// files at the root of the uploaded source (all of them, tests included, so no
// other package may live here), and generates a main package that imports
// this one and calls funcframework.Start. It uses that declarative template
// only when this package itself imports the framework's functions package;
// otherwise it expects FUNCTION_TARGET to be an exported func of this package.
//
// The functions themselves are registered by the init of ./functions (Gateway,
// Notify, Reconcile, NotifySweep); importing it here runs that init.
// terraform/functions_test.go builds this package the way the buildpack does.
package studio

import (
	// The buildpack picks its declarative main template on this import.
	_ "github.com/GoogleCloudPlatform/functions-framework-go/functions"

	// Registers Gateway, Notify, Reconcile and NotifySweep.
	_ "github.com/tigerstudio/studio/functions"
)
