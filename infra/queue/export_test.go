package queue

// RetryPriority exposes retryPriority to the package's external tests.
var RetryPriority = retryPriority
