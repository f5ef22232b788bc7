# What each function varies. Everything else about a Go function is the
# same for all of them (main.tf).

variable "project" {
  description = "The project the function's secrets are in."
  type        = string
}

variable "name" {
  description = "The function's name, which is also its Cloud Run service's."
  type        = string
}

variable "location" {
  description = "The function's region."
  type        = string
}

variable "description" {
  description = "What the function does, as the console shows it."
  type        = string
}

#
# The build.
#

variable "build" {
  description = "What the function is built from, by and into, the same for every function of a root: the Go runtime (e.g. go125), the id of the account Cloud Build runs as, the id of the Artifact Registry repository the image goes to, the bucket and object of the zipped repository."
  type = object({
    runtime           = string
    service_account   = string
    docker_repository = string
    source_bucket     = string
    source_object     = string
  })
}

variable "entry_point" {
  description = "The name the function is registered under (functions/register.go)."
  type        = string
}

#
# The service.
#

variable "service_account_email" {
  description = "The account the function runs as."
  type        = string
}

variable "ingress_settings" {
  description = "ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  type        = string
}

variable "available_cpu" {
  description = "CPUs per instance; null: what available_memory comes with."
  type        = string
  default     = null
}

variable "available_memory" {
  description = "Memory per instance (e.g. 256Mi); GOMEMLIMIT in environment_variables stays below it."
  type        = string
}

variable "max_instance_request_concurrency" {
  description = "Requests one instance serves at once; null: one."
  type        = number
  default     = null
}

variable "min_instance_count" {
  description = "Instances kept warm."
  type        = number
  default     = 0
}

variable "max_instance_count" {
  description = "The most instances at once."
  type        = number
}

variable "timeout_seconds" {
  description = "How long one request may run."
  type        = number
}

variable "vpc_connector" {
  description = "The Serverless VPC Access connector's id, for functions that reach the private network; null: none."
  type        = string
  default     = null
}

variable "vpc_connector_egress_settings" {
  description = "Which traffic goes through vpc_connector (PRIVATE_RANGES_ONLY or ALL_TRAFFIC); null without a connector."
  type        = string
  default     = null
}

variable "environment_variables" {
  description = "The function's plain environment (never a secret)."
  type        = map(string)
}

variable "secret_environment_variables" {
  description = "Environment variable name => the Secret Manager secret id (in project) whose latest version it holds."
  type        = map(string)
  default     = {}
}

variable "expected_url" {
  description = "The URL the caller relies on before the function exists (e.g. to pass it to the function itself); the apply fails if Cloud Functions gives another. null: no check."
  type        = string
  default     = null
}
