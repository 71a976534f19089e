/* AWS credentials: the standard provider chain, cached and refreshed.
 *
 * Sources, in order (the first that has credentials wins, as in the AWS
 * SDKs):
 *   1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 *      AWS_SESSION_TOKEN;
 *   2. shared files: AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials) and
 *      AWS_CONFIG_FILE (~/.aws/config, "[profile NAME]" sections), profile
 *      AWS_PROFILE or "default"; the credentials file wins;
 *   3. container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on
 *      http://169.254.170.2) or AWS_CONTAINER_CREDENTIALS_FULL_URI (https,
 *      or http to a loopback or the ECS/EKS link-local addresses), with
 *      the Authorization header from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
 *      or AWS_CONTAINER_AUTHORIZATION_TOKEN;
 *   4. EC2 instance metadata, IMDSv2 (token, then role, then credentials)
 *      at AWS_EC2_METADATA_SERVICE_ENDPOINT or http://169.254.169.254,
 *      unless AWS_EC2_METADATA_DISABLED=true; short timeouts.
 * The environment is read when credentials are first needed, not before.
 * Credentials with an expiration (container, IMDS) are fetched again from
 * their source 5 minutes before they expire; if that fails while the old
 * ones are still valid, the old ones are used and a warning logged.
 *
 * Secrets are never logged: logs name the source, the profile and the
 * expiration time only. Thread-safe: one fetch at a time, callers get
 * copies. */
#ifndef ETL_STORE_CREDS_H
#define ETL_STORE_CREDS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct aws_creds {
    char *access_key_id;
    char *secret_access_key;
    char *session_token; /* NULL when there is none */
    time_t expiration;   /* 0 = does not expire */
    const char *source;  /* "environment", "shared-files", "container",
                            "imds" (static string) */
};

/* Free the strings, wiping the secrets first. NULL-safe. */
void aws_creds_release(struct aws_creds *c);

struct creds_provider;

/* A provider; does no I/O and reads no variable yet. ETL_ENOMEM. */
int creds_provider_new(struct creds_provider **out);
void creds_provider_free(struct creds_provider *p);

/* Copy current credentials into *out (release with aws_creds_release).
 * Errors (logged with what was tried, without secrets):
 *   ETL_EAUTH   no source has credentials, or the source that should
 *               have (an endpoint that is configured) failed
 *   ETL_ECONFIG a malformed setting (half of a key pair, an explicit
 *               AWS_PROFILE that does not exist or needs a role or SSO, a
 *               container URI that is not allowed)
 *   ETL_ENOMEM */
int creds_provider_get(struct creds_provider *p, struct aws_creds *out);

/* Forget cached credentials so the next get resolves them again (after
 * the service said they expired). */
void creds_provider_invalidate(struct creds_provider *p);

/* The "region" of the active profile in the config file (AWS_CONFIG_FILE
 * or ~/.aws/config), malloc'd into *out, or *out = NULL if none. */
int creds_config_region(char **out);

/* The string value of member `key` of a top-level JSON object (escapes
 * decoded, \u0000 refused), malloc'd into *out. ETL_ENOTFOUND if absent or
 * not a string, ETL_EINVAL for malformed JSON. For the credential
 * endpoints' small flat documents; exposed for the fuzz targets. */
int creds_json_string(const char *json, size_t len, const char *key,
                      char **out);

/* Parse an ISO 8601 UTC time ("2024-01-02T03:04:05Z", fractions and a
 * "+00:00" offset allowed). 0 or ETL_EINVAL. */
int creds_parse_time(const char *s, time_t *out);

#endif
