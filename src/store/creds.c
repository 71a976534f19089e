/* The AWS credential provider chain (creds.h). */
#include "store/creds.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "store/http.h"

#define REFRESH_MARGIN_S 300 /* fetch again 5 minutes before expiry */
#define FILE_MAX (1 << 20)   /* shared files and token files */
#define BODY_MAX (64 * 1024) /* credential endpoint responses */
#define CONTAINER_HOST "http://169.254.170.2"
#define IMDS_DEFAULT "http://169.254.169.254"

enum source { SRC_NONE, SRC_ENV, SRC_FILES, SRC_CONTAINER, SRC_IMDS };

static const char *const source_names[] = {"none", "environment",
                                           "shared-files", "container", "imds"};

struct creds_provider {
    pthread_mutex_t lock;
    bool have;
    enum source src;
    struct aws_creds cur;
};

static void wipe_free(char *s)
{
    if (!s)
        return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

void aws_creds_release(struct aws_creds *c)
{
    if (!c)
        return;
    wipe_free(c->access_key_id);
    wipe_free(c->secret_access_key);
    wipe_free(c->session_token);
    memset(c, 0, sizeof(*c));
}

static int creds_copy(const struct aws_creds *from, struct aws_creds *to)
{
    memset(to, 0, sizeof(*to));
    to->access_key_id = strdup(from->access_key_id);
    to->secret_access_key = strdup(from->secret_access_key);
    to->session_token =
        from->session_token ? strdup(from->session_token) : NULL;
    to->expiration = from->expiration;
    to->source = from->source;
    if (!to->access_key_id || !to->secret_access_key ||
        (from->session_token && !to->session_token)) {
        aws_creds_release(to);
        return ETL_ENOMEM;
    }
    return 0;
}

/* Set creds from three strings (copied; empty token = none). */
static int creds_set(struct aws_creds *c, const char *akid, const char *secret,
                     const char *token, enum source src)
{
    struct aws_creds tmp = {(char *)akid, (char *)secret,
                            token && *token ? (char *)token : NULL, 0,
                            source_names[src]};
    return creds_copy(&tmp, c);
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* ---- Minimal JSON --------------------------------------------------- */

static void skip_ws(const char **p, const char *end)
{
    while (*p < end &&
           (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r'))
        (*p)++;
}

static int hex4(const char *p, const char *end, unsigned *out)
{
    unsigned v = 0;
    if (end - p < 4)
        return ETL_EINVAL;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return ETL_EINVAL;
    }
    *out = v;
    return 0;
}

static int add_utf8(struct buf *b, unsigned cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return b ? buf_add(b, u, n) : 0;
}

/* *p at the opening quote; out may be NULL to skip. */
static int json_parse_string(const char **p, const char *end, struct buf *out)
{
    const char *s = *p + 1;
    int rc = 0;
    while (!rc) {
        if (s >= end)
            return ETL_EINVAL;
        unsigned char c = (unsigned char)*s++;
        if (c == '"')
            break;
        if (c < 0x20)
            return ETL_EINVAL;
        if (c != '\\') {
            rc = out ? buf_addch(out, c) : 0;
            continue;
        }
        if (s >= end)
            return ETL_EINVAL;
        char e = *s++;
        unsigned cp;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            rc = out ? buf_addch(out, e) : 0;
            break;
        case 'b':
            rc = out ? buf_addch(out, '\b') : 0;
            break;
        case 'f':
            rc = out ? buf_addch(out, '\f') : 0;
            break;
        case 'n':
            rc = out ? buf_addch(out, '\n') : 0;
            break;
        case 'r':
            rc = out ? buf_addch(out, '\r') : 0;
            break;
        case 't':
            rc = out ? buf_addch(out, '\t') : 0;
            break;
        case 'u':
            if (hex4(s, end, &cp))
                return ETL_EINVAL;
            s += 4;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                unsigned lo;
                if (end - s < 6 || s[0] != '\\' || s[1] != 'u' ||
                    hex4(s + 2, end, &lo) || lo < 0xdc00 || lo > 0xdfff)
                    return ETL_EINVAL;
                s += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if ((cp >= 0xdc00 && cp <= 0xdfff) || cp == 0) {
                return ETL_EINVAL;
            }
            rc = add_utf8(out, cp);
            break;
        default:
            return ETL_EINVAL;
        }
    }
    *p = s;
    return rc;
}

static int json_skip_value(const char **p, const char *end, int depth)
{
    skip_ws(p, end);
    if (*p >= end || depth > 32)
        return ETL_EINVAL;
    char c = **p;
    if (c == '"')
        return json_parse_string(p, end, NULL);
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        (*p)++;
        skip_ws(p, end);
        if (*p < end && **p == close) {
            (*p)++;
            return 0;
        }
        for (;;) {
            if (c == '{') {
                skip_ws(p, end);
                if (*p >= end || **p != '"' || json_parse_string(p, end, NULL))
                    return ETL_EINVAL;
                skip_ws(p, end);
                if (*p >= end || **p != ':')
                    return ETL_EINVAL;
                (*p)++;
            }
            if (json_skip_value(p, end, depth + 1))
                return ETL_EINVAL;
            skip_ws(p, end);
            if (*p >= end)
                return ETL_EINVAL;
            if (**p == close) {
                (*p)++;
                return 0;
            }
            if (**p != ',')
                return ETL_EINVAL;
            (*p)++;
        }
    }
    /* number, true, false, null */
    const char *s = *p;
    while (*p < end && (isalnum((unsigned char)**p) || **p == '-' ||
                        **p == '+' || **p == '.'))
        (*p)++;
    return *p > s ? 0 : ETL_EINVAL;
}

int creds_json_string(const char *json, size_t len, const char *key, char **out)
{
    const char *p = json, *end = json + len;
    struct buf name = BUF_INIT, val = BUF_INIT;
    int rc = ETL_ENOTFOUND;
    *out = NULL;
    skip_ws(&p, end);
    if (p >= end || *p != '{') {
        rc = ETL_EINVAL;
        goto out;
    }
    p++;
    skip_ws(&p, end);
    if (p < end && *p == '}')
        goto out;
    for (;;) {
        skip_ws(&p, end);
        buf_reset(&name);
        if (p >= end || *p != '"' || json_parse_string(&p, end, &name)) {
            rc = ETL_EINVAL;
            goto out;
        }
        skip_ws(&p, end);
        if (p >= end || *p != ':') {
            rc = ETL_EINVAL;
            goto out;
        }
        p++;
        skip_ws(&p, end);
        if (p < end && *p == '"' && strlen(name.data) == name.len &&
            strcmp(name.data, key) == 0) {
            if (json_parse_string(&p, end, &val)) {
                rc = ETL_EINVAL;
                goto out;
            }
            *out = buf_detach(&val, NULL);
            rc = *out ? 0 : ETL_ENOMEM;
            goto out;
        }
        if (json_skip_value(&p, end, 1)) {
            rc = ETL_EINVAL;
            goto out;
        }
        skip_ws(&p, end);
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p < end && *p == '}')
            goto out; /* not found */
        rc = ETL_EINVAL;
        goto out;
    }
out:
    buf_release(&name);
    if (val.len)
        OPENSSL_cleanse(val.data, val.len);
    buf_release(&val);
    return rc;
}

int creds_parse_time(const char *s, time_t *out)
{
    int y, mo, d, h, mi, sec, n = 0;
    /* Field widths bound every value (no overflow); n checks the length. */
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", /* NOLINT(cert-err34-c) */
               &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
        n != 19)
        return ETL_EINVAL;
    const char *rest = s + n;
    if (*rest == '.') {
        rest++;
        while (*rest >= '0' && *rest <= '9')
            rest++;
    }
    if (strcmp(rest, "Z") != 0 && strcmp(rest, "+00:00") != 0 &&
        strcmp(rest, "+0000") != 0)
        return ETL_EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 ||
        y < 1970)
        return ETL_EINVAL;
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return ETL_EINVAL;
    *out = t;
    return 0;
}

/* ---- Files ------------------------------------------------------------ */

/* var names the setting that gave path, for messages. O_NONBLOCK and
 * the S_ISREG check: a FIFO named by mistake must fail, not hang. */
static int read_file(const char *var, const char *path, struct buf *out,
                     bool *missing)
{
    *missing = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        *missing = errno == ENOENT || errno == ENOTDIR;
        if (!*missing) {
            char ebuf[128];
            LOGF(LOG_ERROR, "aws_file_unreadable", LF_S("variable", var),
                 LF_S("path", path),
                 LF_S("error", strerror_r(errno, ebuf, sizeof(ebuf))));
        }
        return ETL_EIO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        LOGF(LOG_ERROR, "aws_file_unreadable", LF_S("variable", var),
             LF_S("path", path), LF_S("error", "not a regular file"));
        close(fd);
        return ETL_EIO;
    }
    char tmp[8192];
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, tmp, sizeof(tmp));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = ETL_EIO;
            break;
        }
        if (n == 0)
            break;
        if (out->len + (size_t)n > FILE_MAX) {
            rc = ETL_ETOOBIG;
            break;
        }
        rc = buf_add(out, tmp, (size_t)n);
        if (rc)
            break;
    }
    close(fd);
    return rc;
}

/* ~/.aws/<name>, or the file named by the variable. */
static int aws_file_path(const char *var, const char *name, struct buf *out)
{
    const char *v = env(var);
    if (v)
        return buf_addstr(out, v);
    const char *home = env("HOME");
    char pwbuf[4096];
    struct passwd pw, *res = NULL;
    if (!home && getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &res) == 0 &&
        res)
        home = res->pw_dir;
    if (!home)
        return ETL_ENOTFOUND;
    return buf_printf(out, "%s/.aws/%s", home, name);
}

enum ini_key {
    K_AKID,
    K_SECRET,
    K_TOKEN,
    K_TOKEN_LEGACY,
    K_REGION,
    K_ROLE_ARN,
    K_SSO_START_URL,
    K_SSO_SESSION,
    K_CREDENTIAL_PROCESS,
    K_WEB_IDENTITY,
    K_COUNT
};

static const char *const ini_keys[K_COUNT] = {"aws_access_key_id",
                                              "aws_secret_access_key",
                                              "aws_session_token",
                                              "aws_security_token",
                                              "region",
                                              "role_arn",
                                              "sso_start_url",
                                              "sso_session",
                                              "credential_process",
                                              "web_identity_token_file"};

struct profile {
    bool found;
    char *v[K_COUNT];
};

static void profile_release(struct profile *p)
{
    for (int i = 0; i < K_COUNT; i++)
        wipe_free(p->v[i]);
    memset(p, 0, sizeof(*p));
}

static char *trim(char *s, char *end)
{
    while (s < end && isspace((unsigned char)*s))
        s++;
    while (end > s && isspace((unsigned char)end[-1]))
        end--;
    *end = '\0';
    return s;
}

/* Does section header text name the profile? In the config file a
 * profile is "[profile NAME]" (or "[default]"); in the credentials file
 * it is "[NAME]". */
static bool section_matches(const char *sec, const char *profile, bool config)
{
    if (!config)
        return strcmp(sec, profile) == 0;
    if (strcmp(profile, "default") == 0 && strcmp(sec, "default") == 0)
        return true;
    if (strncmp(sec, "profile", 7) != 0 || !isspace((unsigned char)sec[7]))
        return false;
    const char *name = sec + 7;
    while (isspace((unsigned char)*name))
        name++;
    return strcmp(name, profile) == 0;
}

/* Read the profile's keys from an INI file; a missing file is no
 * error. Values already set (from a file read before) are kept. */
static int ini_read(const char *path, const char *profile, bool config,
                    struct profile *out)
{
    struct buf text = BUF_INIT;
    bool missing = false;
    int rc =
        read_file(config ? "AWS_CONFIG_FILE" : "AWS_SHARED_CREDENTIALS_FILE",
                  path, &text, &missing);
    if (rc) {
        buf_release(&text);
        return missing ? 0 : rc;
    }
    bool in = false;
    char *p = text.data, *end = text.data + text.len;
    while (!rc && p < end) {
        char *eol = memchr(p, '\n', (size_t)(end - p));
        char *next = eol ? eol + 1 : end;
        char *line_end = eol ? eol : end;
        bool indented = p < line_end && (*p == ' ' || *p == '\t');
        char *line = trim(p, line_end);
        p = next;
        if (!*line || *line == '#' || *line == ';')
            continue;
        if (*line == '[') {
            char *close = strchr(line, ']');
            if (!close)
                continue;
            char *sec = trim(line + 1, close);
            in = section_matches(sec, profile, config);
            out->found |= in;
            continue;
        }
        /* Indented lines are nested settings ("s3 =\n  addressing..."). */
        if (!in || indented)
            continue;
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        char *vstart = eq + 1;
        char *v = trim(vstart, vstart + strlen(vstart));
        char *k = trim(line, eq);
        for (int i = 0; i < K_COUNT; i++) {
            if (strcmp(k, ini_keys[i]) == 0 && !out->v[i]) {
                out->v[i] = strdup(v);
                if (!out->v[i])
                    rc = ETL_ENOMEM;
            }
        }
    }
    OPENSSL_cleanse(text.data, text.len);
    buf_release(&text);
    return rc;
}

static const char *profile_name(bool *explicit_out)
{
    const char *p = env("AWS_PROFILE");
    if (!p)
        p = env("AWS_DEFAULT_PROFILE");
    *explicit_out = p != NULL;
    return p ? p : "default";
}

/* Credentials file first (it wins), then config. */
static int profile_load(const char *profile, struct profile *out)
{
    struct buf cred_path = BUF_INIT, conf_path = BUF_INIT;
    int rc =
        aws_file_path("AWS_SHARED_CREDENTIALS_FILE", "credentials", &cred_path);
    if (!rc)
        rc = ini_read(cred_path.data, profile, false, out);
    if (rc == ETL_ENOTFOUND)
        rc = 0; /* no home directory: no files */
    if (!rc) {
        rc = aws_file_path("AWS_CONFIG_FILE", "config", &conf_path);
        if (!rc)
            rc = ini_read(conf_path.data, profile, true, out);
        if (rc == ETL_ENOTFOUND)
            rc = 0;
    }
    if (rc && rc != ETL_ENOMEM)
        LOGF(LOG_ERROR, "aws_config_unreadable",
             LF_S("credentials_file", cred_path.data),
             LF_S("config_file", conf_path.data),
             LF_S("error", etl_strerror(rc)));
    buf_release(&cred_path);
    buf_release(&conf_path);
    return rc == ETL_ENOMEM ? rc : rc ? ETL_ECONFIG : 0;
}

int creds_config_region(char **out)
{
    bool explicit_profile;
    const char *name = profile_name(&explicit_profile);
    struct profile prof;
    memset(&prof, 0, sizeof(prof));
    *out = NULL;
    struct buf conf_path = BUF_INIT;
    int rc = aws_file_path("AWS_CONFIG_FILE", "config", &conf_path);
    if (!rc)
        rc = ini_read(conf_path.data, name, true, &prof);
    buf_release(&conf_path);
    if (rc == ETL_ENOTFOUND)
        rc = 0;
    if (!rc && prof.v[K_REGION] && *prof.v[K_REGION]) {
        *out = prof.v[K_REGION];
        prof.v[K_REGION] = NULL;
    }
    profile_release(&prof);
    return rc == ETL_ENOMEM ? rc : 0;
}

/* ---- Sources ---------------------------------------------------------- */

/* 0 with creds, ETL_ENOTFOUND when this source has none, or an error. */
static int from_env(struct aws_creds *out)
{
    const char *akid = env("AWS_ACCESS_KEY_ID");
    const char *secret = env("AWS_SECRET_ACCESS_KEY");
    if (!akid && !secret)
        return ETL_ENOTFOUND;
    if (!akid || !secret) {
        LOGF(LOG_ERROR, "aws_credentials_incomplete",
             LF_S("source", "environment"),
             LF_S("missing",
                  akid ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID"),
             LF_S("reason", "set both AWS_ACCESS_KEY_ID and "
                            "AWS_SECRET_ACCESS_KEY, or neither"));
        return ETL_ECONFIG;
    }
    return creds_set(out, akid, secret, env("AWS_SESSION_TOKEN"), SRC_ENV);
}

static int from_files(struct aws_creds *out)
{
    bool explicit_profile;
    const char *name = profile_name(&explicit_profile);
    struct profile prof;
    memset(&prof, 0, sizeof(prof));
    int rc = profile_load(name, &prof);
    if (rc)
        goto out;
    const char *akid = prof.v[K_AKID], *secret = prof.v[K_SECRET];
    if (akid && *akid && secret && *secret) {
        const char *tok =
            prof.v[K_TOKEN] ? prof.v[K_TOKEN] : prof.v[K_TOKEN_LEGACY];
        rc = creds_set(out, akid, secret, tok, SRC_FILES);
        goto out;
    }
    if ((akid && *akid) || (secret && *secret)) {
        LOGF(LOG_ERROR, "aws_credentials_incomplete",
             LF_S("source", "shared-files"), LF_S("profile", name),
             LF_S("missing", akid && *akid ? "aws_secret_access_key"
                                           : "aws_access_key_id"));
        rc = ETL_ECONFIG;
        goto out;
    }
    if (explicit_profile) {
        const char *why = NULL;
        if (!prof.found)
            why = "no such profile in the credentials or config file";
        else if (prof.v[K_ROLE_ARN])
            why = "the profile assumes a role (role_arn), which is not "
                  "supported: export the role's credentials instead";
        else if (prof.v[K_SSO_START_URL] || prof.v[K_SSO_SESSION])
            why = "the profile uses IAM Identity Center (SSO), which is not "
                  "supported: export credentials (aws configure "
                  "export-credentials)";
        else if (prof.v[K_CREDENTIAL_PROCESS])
            why = "credential_process is not supported";
        else
            why = "the profile has no aws_access_key_id";
        LOGF(LOG_ERROR, "aws_profile_unusable", LF_S("profile", name),
             LF_S("variable", "AWS_PROFILE"), LF_S("reason", why));
        rc = ETL_ECONFIG;
        goto out;
    }
    rc = ETL_ENOTFOUND;
out:
    profile_release(&prof);
    return rc;
}

/* Parse the JSON credentials document of the container and IMDS
 * endpoints. */
static int parse_creds_json(const struct buf *body, enum source src,
                            struct aws_creds *out)
{
    char *akid = NULL, *secret = NULL, *token = NULL, *exp = NULL, *code = NULL;
    int rc = creds_json_string(body->data, body->len, "AccessKeyId", &akid);
    if (!rc)
        rc = creds_json_string(body->data, body->len, "SecretAccessKey",
                               &secret);
    if (rc)
        goto out;
    if (creds_json_string(body->data, body->len, "Code", &code) == 0 &&
        strcmp(code, "Success") != 0) {
        rc = ETL_EAUTH;
        goto out;
    }
    int trc = creds_json_string(body->data, body->len, "Token", &token);
    if (trc == ETL_ENOMEM) {
        rc = trc;
        goto out;
    }
    rc = creds_set(out, akid, secret, token, src);
    if (!rc &&
        creds_json_string(body->data, body->len, "Expiration", &exp) == 0) {
        if (creds_parse_time(exp, &out->expiration)) {
            aws_creds_release(out);
            rc = ETL_EINVAL;
        }
    }
out:
    wipe_free(akid);
    wipe_free(secret);
    wipe_free(token);
    free(exp);
    free(code);
    return rc;
}

struct fetch {
    const char *method;
    const char *url;
    struct http_header h[2];
    size_t nh;
    long connect_ms, total_ms;
    int attempts;
};

/* One small request to a credential endpoint; a 200 body in *body. */
static int fetch(const struct fetch *f, struct buf *body, long *status,
                 char *err, size_t errsize)
{
    struct http_client *hc = NULL;
    int rc = http_client_thread(&hc);
    if (rc)
        return rc;
    struct http_request req;
    memset(&req, 0, sizeof(req));
    req.method = f->method;
    req.url = f->url;
    req.headers = f->h;
    req.n_headers = f->nh;
    req.body_fd = -1;
    req.has_body = strcmp(f->method, "PUT") == 0;
    req.connect_timeout_ms = f->connect_ms;
    req.timeout_ms = f->total_ms;
    req.max_body = BODY_MAX;
    struct http_response resp;
    http_response_init(&resp, body);
    for (int i = 0; i < f->attempts; i++) {
        rc = http_do(hc, &req, &resp);
        if (!rc && resp.status < 500)
            break;
        if (rc && !http_client_last_retryable(hc))
            break;
    }
    *status = resp.status;
    snprintf(err, errsize, "%s", rc ? resp.error : "");
    http_response_release(&resp);
    return rc;
}

/* Host part of an http(s) URL, lower-cased, brackets kept for IPv6. */
static void url_host(const char *url, char *out, size_t size)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    const char *at = NULL;
    for (const char *q = p; *q && *q != '/' && *q != '?' && *q != '#'; q++)
        if (*q == '@')
            at = q;
    if (at)
        p = at + 1;
    size_t n = 0;
    if (*p == '[') {
        const char *close = strchr(p, ']');
        n = close ? (size_t)(close - p) + 1 : strlen(p);
    } else {
        n = strcspn(p, ":/?#");
    }
    if (n >= size)
        n = size - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)p[i]);
    out[n] = '\0';
}

/* AWS's rule for _FULL_URI: https anywhere; plain http only to a loopback
 * address or the ECS/EKS agents' link-local addresses. */
static bool full_uri_allowed(const char *uri)
{
    if (strncasecmp(uri, "https://", 8) == 0)
        return true;
    if (strncasecmp(uri, "http://", 7) != 0)
        return false;
    char host[256];
    url_host(uri, host, sizeof(host));
    return !strcmp(host, "localhost") || !strncmp(host, "127.", 4) ||
           !strcmp(host, "[::1]") || !strcmp(host, "169.254.170.2") ||
           !strcmp(host, "169.254.170.23") || !strcmp(host, "[fd00:ec2::23]");
}

static int from_container(struct aws_creds *out)
{
    const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    if (!rel && !full)
        return ETL_ENOTFOUND;
    struct buf url = BUF_INIT, token = BUF_INIT, body = BUF_INIT;
    int rc = 0;
    const char *var = rel ? "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
                          : "AWS_CONTAINER_CREDENTIALS_FULL_URI";
    if (rel) {
        rc = buf_printf(&url, CONTAINER_HOST "%s%s", rel[0] == '/' ? "" : "/",
                        rel);
    } else if (!full_uri_allowed(full)) {
        LOGF(LOG_ERROR, "aws_container_uri_refused", LF_S("variable", var),
             LF_S("value", full),
             LF_S("reason", "must be https, or http to a loopback address "
                            "or 169.254.170.2/169.254.170.23"));
        rc = ETL_ECONFIG;
        goto out;
    } else {
        rc = buf_addstr(&url, full);
    }
    if (rc)
        goto out;
    const char *tok_file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *tok = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    if (tok_file) {
        bool missing;
        rc = read_file("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tok_file,
                       &token, &missing);
        if (rc) {
            LOGF(LOG_ERROR, "aws_container_token_unreadable",
                 LF_S("variable", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"),
                 LF_S("path", tok_file));
            rc = ETL_EAUTH;
            goto out;
        }
        while (token.len && isspace((unsigned char)token.data[token.len - 1]))
            buf_truncate(&token, token.len - 1);
    } else if (tok) {
        rc = buf_addstr(&token, tok);
        if (rc)
            goto out;
    }
    if (strpbrk(token.data, "\r\n")) {
        LOGF(LOG_ERROR, "aws_container_token_invalid",
             LF_S("reason", "the authorization token has a line break"));
        rc = ETL_ECONFIG;
        goto out;
    }
    struct fetch f = {"GET", url.data, {{NULL, NULL}}, 0, 2000, 5000, 3};
    if (token.len)
        f.h[f.nh++] = (struct http_header){"Authorization", token.data};
    long status = 0;
    char err[256] = ""; /* fetch() may fail before writing it */
    rc = fetch(&f, &body, &status, err, sizeof(err));
    if (!rc && status != 200)
        rc = ETL_EAUTH;
    if (!rc)
        rc = parse_creds_json(&body, SRC_CONTAINER, out);
    if (rc && rc != ETL_ENOMEM) {
        /* The URL is logged: it holds no secret (the token is a header). */
        LOGF(LOG_ERROR, "aws_container_credentials_failed",
             LF_S("variable", var), LF_S("url", url.data),
             LF_I("http_status", status),
             LF_S("error", err[0] ? err : etl_strerror(rc)));
        rc = ETL_EAUTH;
    }
out:
    if (token.len)
        OPENSSL_cleanse(token.data, token.len);
    if (body.len)
        OPENSSL_cleanse(body.data, body.len);
    buf_release(&url);
    buf_release(&token);
    buf_release(&body);
    return rc;
}

static int from_imds(struct aws_creds *out)
{
    const char *off = env("AWS_EC2_METADATA_DISABLED");
    if (off && strcasecmp(off, "true") == 0)
        return ETL_ENOTFOUND;
    const char *ep = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (!ep)
        ep = IMDS_DEFAULT;
    size_t eplen = strlen(ep);
    while (eplen && ep[eplen - 1] == '/')
        eplen--;
    struct buf url = BUF_INIT, token = BUF_INIT, role = BUF_INIT;
    struct buf body = BUF_INIT;
    long status = 0;
    char err[256] = "";
    const char *step = "token";
    int rc = buf_printf(&url, "%.*s/latest/api/token", (int)eplen, ep);
    if (rc)
        goto out;
    struct fetch f = {
        "PUT", url.data, {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}},
        1,     1000,     2000,
        2};
    rc = fetch(&f, &token, &status, err, sizeof(err));
    if (!rc && (status != 200 || !token.len || strpbrk(token.data, "\r\n")))
        rc = ETL_EAUTH;
    if (rc)
        goto out;

    step = "role";
    buf_reset(&url);
    rc = buf_printf(&url, "%.*s/latest/meta-data/iam/security-credentials/",
                    (int)eplen, ep);
    if (rc)
        goto out;
    f.method = "GET";
    f.url = url.data;
    f.h[0] = (struct http_header){"X-aws-ec2-metadata-token", token.data};
    rc = fetch(&f, &role, &status, err, sizeof(err));
    if (!rc && status != 200)
        rc = ETL_EAUTH;
    if (rc)
        goto out;
    size_t rlen = strcspn(role.data, "\r\n");
    buf_truncate(&role, rlen);
    if (!role.len || strpbrk(role.data, "/?#% ")) {
        rc = ETL_EAUTH; /* no role attached to the instance */
        snprintf(err, sizeof(err), "the instance has no IAM role");
        goto out;
    }

    step = "credentials";
    rc = buf_addstr(&url, role.data);
    if (rc)
        goto out;
    f.url = url.data;
    rc = fetch(&f, &body, &status, err, sizeof(err));
    if (!rc && status != 200)
        rc = ETL_EAUTH;
    if (!rc)
        rc = parse_creds_json(&body, SRC_IMDS, out);
out:
    if (rc && rc != ETL_ENOMEM) {
        /* Unreachable IMDS is the normal case off EC2: say so quietly. */
        bool unreachable = status == 0 && !strcmp(step, "token");
        LOGF(unreachable ? LOG_DEBUG : LOG_ERROR, "aws_imds_failed",
             LF_S("step", step), LF_I("http_status", status),
             LF_S("error", err[0] ? err : etl_strerror(rc)));
        rc = unreachable ? ETL_ENOTFOUND : ETL_EAUTH;
    }
    if (token.len)
        OPENSSL_cleanse(token.data, token.len);
    if (body.len)
        OPENSSL_cleanse(body.data, body.len);
    buf_release(&url);
    buf_release(&token);
    buf_release(&role);
    buf_release(&body);
    return rc;
}

static int from_source(enum source s, struct aws_creds *out)
{
    switch (s) {
    case SRC_ENV:
        return from_env(out);
    case SRC_FILES:
        return from_files(out);
    case SRC_CONTAINER:
        return from_container(out);
    case SRC_IMDS:
        return from_imds(out);
    default:
        return ETL_ENOTFOUND;
    }
}

static int resolve_chain(struct aws_creds *out, enum source *src)
{
    for (enum source s = SRC_ENV; s <= SRC_IMDS; s++) {
        int rc = from_source(s, out);
        if (rc == ETL_ENOTFOUND)
            continue;
        *src = s;
        return rc;
    }
    LOGF(LOG_ERROR, "aws_credentials_not_found",
         LF_S("tried", "environment (AWS_ACCESS_KEY_ID), shared files "
                       "(~/.aws/credentials, ~/.aws/config), container "
                       "(AWS_CONTAINER_CREDENTIALS_*), EC2 instance "
                       "metadata"));
    return ETL_EAUTH;
}

/* ---- Provider --------------------------------------------------------- */

int creds_provider_new(struct creds_provider **out)
{
    struct creds_provider *p = calloc(1, sizeof(*p));
    *out = p;
    if (!p)
        return ETL_ENOMEM;
    pthread_mutex_init(&p->lock, NULL);
    return 0;
}

void creds_provider_free(struct creds_provider *p)
{
    if (!p)
        return;
    aws_creds_release(&p->cur);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

void creds_provider_invalidate(struct creds_provider *p)
{
    pthread_mutex_lock(&p->lock);
    aws_creds_release(&p->cur);
    p->have = false;
    p->src = SRC_NONE;
    pthread_mutex_unlock(&p->lock);
}

static bool fresh(const struct aws_creds *c, time_t now)
{
    return c->expiration == 0 || now + REFRESH_MARGIN_S < c->expiration;
}

int creds_provider_get(struct creds_provider *p, struct aws_creds *out)
{
    int rc;
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&p->lock);
    time_t now = time(NULL);
    if (p->have && fresh(&p->cur, now)) {
        rc = creds_copy(&p->cur, out);
        goto out;
    }
    struct aws_creds next;
    memset(&next, 0, sizeof(next));
    enum source src = p->src;
    bool refresh = p->have && (src == SRC_CONTAINER || src == SRC_IMDS);
    rc = refresh ? from_source(src, &next) : resolve_chain(&next, &src);
    if (rc == ETL_ENOTFOUND)
        rc = ETL_EAUTH;
    if (rc == 0) {
        aws_creds_release(&p->cur);
        p->cur = next;
        p->have = true;
        p->src = src;
        bool explicit_profile;
        const char *prof = profile_name(&explicit_profile);
        LOGF(refresh ? LOG_DEBUG : LOG_INFO, "aws_credentials",
             LF_S("source", source_names[src]),
             LF_S("profile", src == SRC_FILES ? prof : ""),
             LF_B("session", next.session_token != NULL),
             LF_I("expires_in_s",
                  next.expiration ? (long long)(next.expiration - now) : -1));
    } else if (p->have && now < p->cur.expiration) {
        LOGF(LOG_WARN, "aws_credentials_refresh_failed",
             LF_S("source", source_names[p->src]),
             LF_I("still_valid_s", (long long)(p->cur.expiration - now)),
             LF_S("error", etl_strerror(rc)));
        rc = 0;
    }
    if (rc == 0)
        rc = creds_copy(&p->cur, out);
out:
    pthread_mutex_unlock(&p->lock);
    return rc;
}
