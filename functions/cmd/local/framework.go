package main

import (
	"net/http"
	_ "unsafe" // for go:linkname

	// The framework whose unexported initServer is linked below.
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
)

// initServer is funcframework.initServer (functions-framework-go v1.9.2,
// funcframework/framework.go): the handler that funcframework.StartHostPort
// serves, built from the registered functions and FUNCTION_TARGET (the
// function at "/", wrapped with the framework's panic recovery, execution
// ids and CloudEvent decoding).
//
// Why a linkname: StartHostPort hands that handler to http.ListenAndServe,
// whose server has no timeouts, and the framework exports no other way to
// get it (a CreateServer proposal, GoogleCloudPlatform/functions-framework-go
// pull request 140, was closed unmerged; neither v1.9.2 nor the main branch
// after it adds one). The alternatives were worse: rebuilding the wrappers
// here needs the registered functions, which live in the framework's
// internal registry; proxying to StartHostPort on a second, loopback port
// would move the Gateway's own per-request read deadline onto the proxy's
// connection instead of the client's, and leave an untimed listener behind
// it.
//
// The cost: the compiler cannot check this signature against the
// framework's. Before upgrading functions-framework-go, check that
// initServer still has it; TestFrameworkHandler serves a request through it.
//
//go:linkname initServer github.com/GoogleCloudPlatform/functions-framework-go/funcframework.initServer
func initServer() (*http.ServeMux, error)

// frameworkHandler is what funcframework.StartHostPort would serve.
func frameworkHandler() (http.Handler, error) {
	return initServer()
}
