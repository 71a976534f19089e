/* The credential chain against a real HTTP server on 127.0.0.1 (a thread
 * of this test playing the container endpoint and IMDSv2), real files,
 * and the environment. Never contacts 169.254.x.x: every test sets
 * AWS_EC2_METADATA_DISABLED or points IMDS at the local server. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "harness.h"
#include "store/creds.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzSECRETz"
#define TOKEN "IQoJb3JpZ2luX2VjEXAMPLEzTOKENz"

/* ---- A tiny HTTP/1.1 server ------------------------------------------- */

struct server {
    int fd;
    int port;
    pthread_t th;
    atomic_bool stop;
    pthread_mutex_t lock;
    /* What /creds answers. */
    int creds_status;
    char creds_body[1024];
    /* Observed. */
    atomic_int creds_hits, token_hits, role_hits, role_creds_hits;
    char last_auth[256];
    char last_imds_token[256];
};

static struct server srv;

static void header_value(const char *req, const char *name, char *out,
                         size_t size)
{
    out[0] = '\0';
    const char *p = req;
    size_t n = strlen(name);
    while ((p = strchr(p, '\n')) != NULL) {
        p++;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            size_t len = strcspn(v, "\r\n");
            if (len >= size)
                len = size - 1;
            memcpy(out, v, len);
            out[len] = '\0';
            return;
        }
    }
}

static void respond(int c, int status, const char *body)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, strlen(body));
    if (write(c, head, (size_t)n) < 0 || write(c, body, strlen(body)) < 0)
        return;
}

static void serve_one(int c)
{
    char req[8192];
    size_t len = 0;
    while (len < sizeof(req) - 1) {
        struct pollfd pfd = {c, POLLIN, 0};
        if (poll(&pfd, 1, 2000) <= 0)
            break;
        ssize_t n = read(c, req + len, sizeof(req) - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        req[len] = '\0';
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    req[len] = '\0';
    char method[8] = "", path[512] = "";
    if (sscanf(req, "%7s %511s", method, path) != 2) {
        respond(c, 400, "");
        return;
    }
    char tok[256];
    header_value(req, "X-aws-ec2-metadata-token", tok, sizeof(tok));
    pthread_mutex_lock(&srv.lock);
    if (!strcmp(path, "/creds")) {
        atomic_fetch_add(&srv.creds_hits, 1);
        header_value(req, "Authorization", srv.last_auth,
                     sizeof(srv.last_auth));
        respond(c, srv.creds_status, srv.creds_body);
    } else if (!strcmp(method, "PUT") && !strcmp(path, "/latest/api/token")) {
        atomic_fetch_add(&srv.token_hits, 1);
        char ttl[32];
        header_value(req, "X-aws-ec2-metadata-token-ttl-seconds", ttl,
                     sizeof(ttl));
        respond(c, ttl[0] ? 200 : 400, "imds-session-token");
    } else if (!strcmp(path, "/latest/meta-data/iam/security-credentials/")) {
        atomic_fetch_add(&srv.role_hits, 1);
        snprintf(srv.last_imds_token, sizeof(srv.last_imds_token), "%s", tok);
        respond(c, strcmp(tok, "imds-session-token") ? 401 : 200, "ecg-role\n");
    } else if (!strcmp(path, "/latest/meta-data/iam/security-credentials/"
                             "ecg-role")) {
        atomic_fetch_add(&srv.role_creds_hits, 1);
        respond(c, strcmp(tok, "imds-session-token") ? 401 : srv.creds_status,
                srv.creds_body);
    } else {
        respond(c, 404, "");
    }
    pthread_mutex_unlock(&srv.lock);
}

static void *server_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&srv.stop)) {
        struct pollfd pfd = {srv.fd, POLLIN, 0};
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        int c = accept(srv.fd, NULL, NULL);
        if (c < 0)
            continue;
        serve_one(c);
        close(c);
    }
    return NULL;
}

static void server_start(void)
{
    memset(&srv, 0, sizeof(srv));
    pthread_mutex_init(&srv.lock, NULL);
    srv.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof(a);
    if (bind(srv.fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        listen(srv.fd, 64) < 0 ||
        getsockname(srv.fd, (struct sockaddr *)&a, &alen) < 0) {
        perror("server");
        exit(1);
    }
    srv.port = ntohs(a.sin_port);
    pthread_create(&srv.th, NULL, server_main, NULL);
}

static void server_stop(void)
{
    atomic_store(&srv.stop, true);
    pthread_join(srv.th, NULL);
    close(srv.fd);
}

static void serve_creds(int status, const char *akid, const char *token,
                        long expires_in)
{
    char exp[64];
    time_t t = time(NULL) + expires_in;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", &tm);
    pthread_mutex_lock(&srv.lock);
    srv.creds_status = status;
    snprintf(srv.creds_body, sizeof(srv.creds_body),
             "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : "
             "\"2024-01-01T00:00:00Z\",\n  \"Type\" : \"AWS-HMAC\",\n"
             "  \"AccessKeyId\" : \"%s\",\n  \"SecretAccessKey\" : "
             "\"%s\",\n  \"Token\" : \"%s\",\n  \"Expiration\" : \"%s\"\n}",
             akid, SECRET, token, exp);
    pthread_mutex_unlock(&srv.lock);
}

/* ---- Environment ------------------------------------------------------ */

static char tmpdir[256];

static void clean_env(void)
{
    static const char *const vars[] = {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_CONFIG_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    };
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    setenv("HOME", tmpdir, 1); /* no real ~/.aws */
}

static void write_file(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static const char *tmp_path(const char *name)
{
    static char path[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof(path[k]), "%s/%s", tmpdir, name);
    return path[k];
}

static int get(struct aws_creds *c)
{
    struct creds_provider *p = NULL;
    CHECK_EQ_INT(creds_provider_new(&p), 0);
    int rc = creds_provider_get(p, c);
    creds_provider_free(p);
    return rc;
}

/* ---- Tests ------------------------------------------------------------ */

TEST(environment_first)
{
    clean_env();
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
    setenv("AWS_SESSION_TOKEN", TOKEN, 1);
    /* Files exist too, but the environment wins. */
    write_file("credentials", "[default]\naws_access_key_id = AKIDFILE\n"
                              "aws_secret_access_key = x\n");
    setenv("AWS_SHARED_CREDENTIALS_FILE", tmp_path("credentials"), 1);
    struct aws_creds c;
    CHECK_EQ_INT(get(&c), 0);
    CHECK_EQ_STR(c.access_key_id, "AKIDENV");
    CHECK_EQ_STR(c.secret_access_key, SECRET);
    CHECK_EQ_STR(c.session_token, TOKEN);
    CHECK_EQ_STR(c.source, "environment");
    CHECK(c.expiration == 0);
    aws_creds_release(&c);
    CHECK(c.access_key_id == NULL);

    /* Half a key pair is a configuration error, not a fall-through. */
    unsetenv("AWS_SECRET_ACCESS_KEY");
    CHECK_EQ_INT(get(&c), ETL_ECONFIG);
    unsetenv("AWS_ACCESS_KEY_ID");
    setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
    CHECK_EQ_INT(get(&c), ETL_ECONFIG);
}

TEST(shared_files)
{
    clean_env();
    write_file("credentials",
               "# comment\n[default]\naws_access_key_id=AKIDDEFAULT\n"
               "aws_secret_access_key =  " SECRET "  \n\n"
               "[both]\naws_access_key_id = AKIDBOTHCRED\n"
               "aws_secret_access_key = s1\n");
    write_file("config", "[default]\nregion = eu-west-3\n"
                         "[profile dev]\nregion=ap-south-1\n"
                         "s3 =\n  addressing_style = path\n"
                         "aws_access_key_id = AKIDDEV\n"
                         "aws_secret_access_key = s2\n"
                         "aws_session_token = " TOKEN "\n"
                         "[dev]\naws_access_key_id = NOTTHISONE\n"
                         "[profile both]\naws_access_key_id = AKIDBOTHCONF\n"
                         "aws_secret_access_key = s3\n"
                         "[profile role]\nrole_arn = arn:aws:iam::1:role/x\n"
                         "source_profile = default\n"
                         "[profile sso]\nsso_session = corp\n");
    setenv("AWS_SHARED_CREDENTIALS_FILE", tmp_path("credentials"), 1);
    setenv("AWS_CONFIG_FILE", tmp_path("config"), 1);
    struct aws_creds c;
    CHECK_EQ_INT(get(&c), 0);
    CHECK_EQ_STR(c.access_key_id, "AKIDDEFAULT");
    CHECK_EQ_STR(c.secret_access_key, SECRET); /* trimmed */
    CHECK(c.session_token == NULL);
    CHECK_EQ_STR(c.source, "shared-files");
    aws_creds_release(&c);
    char *region = NULL;
    CHECK_EQ_INT(creds_config_region(&region), 0);
    CHECK_EQ_STR(region, "eu-west-3");
    free(region);

    /* A profile from the config file ("[profile dev]", not "[dev]"). */
    setenv("AWS_PROFILE", "dev", 1);
    CHECK_EQ_INT(get(&c), 0);
    CHECK_EQ_STR(c.access_key_id, "AKIDDEV");
    CHECK_EQ_STR(c.session_token, TOKEN);
    aws_creds_release(&c);
    CHECK_EQ_INT(creds_config_region(&region), 0);
    CHECK_EQ_STR(region, "ap-south-1");
    free(region);

    /* The credentials file wins over the config file. */
    setenv("AWS_PROFILE", "both", 1);
    CHECK_EQ_INT(get(&c), 0);
    CHECK_EQ_STR(c.access_key_id, "AKIDBOTHCRED");
    aws_creds_release(&c);

    /* An explicit profile that cannot be used is an error. */
    setenv("AWS_PROFILE", "nope", 1);
    CHECK_EQ_INT(get(&c), ETL_ECONFIG);
    setenv("AWS_PROFILE", "role", 1);
    CHECK_EQ_INT(get(&c), ETL_ECONFIG);
    setenv("AWS_PROFILE", "sso", 1);
    CHECK_EQ_INT(get(&c), ETL_ECONFIG);

    /* Default locations under $HOME. */
    clean_env();
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/.aws", tmpdir);
    mkdir(dir, 0700);
    write_file(".aws/credentials", "[default]\naws_access_key_id = AKIDHOME\n"
                                   "aws_secret_access_key = s\n");
    CHECK_EQ_INT(get(&c), 0);
    CHECK_EQ_STR(c.access_key_id, "AKIDHOME");
    aws_creds_release(&c);
    unlink(tmp_path(".aws/credentials"));
    rmdir(dir);

    /* Nothing anywhere: a clear failure. */
    clean_env();
    CHECK_EQ_INT(get(&c), ETL_EAUTH);
}

TEST(container_endpoint)
{
    clean_env();
    char uri[128];
    snprintf(uri, sizeof(uri), "http://127.0.0.1:%d/creds", srv.port);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer env-token", 1);
    serve_creds(200, "ASIACONTAINER", TOKEN, 3600);
    struct creds_provider *p = NULL;
    CHECK_EQ_INT(creds_provider_new(&p), 0);
    struct aws_creds c;
    CHECK_EQ_INT(creds_provider_get(p, &c), 0);
    CHECK_EQ_STR(c.access_key_id, "ASIACONTAINER");
    CHECK_EQ_STR(c.secret_access_key, SECRET);
    CHECK_EQ_STR(c.session_token, TOKEN);
    CHECK_EQ_STR(c.source, "container");
    CHECK(c.expiration > time(NULL) + 3500);
    CHECK_EQ_STR(srv.last_auth, "Bearer env-token");
    aws_creds_release(&c);
    /* Cached while far from expiry. */
    CHECK_EQ_INT(creds_provider_get(p, &c), 0);
    aws_creds_release(&c);
    CHECK_EQ_INT(atomic_load(&srv.creds_hits), 1);

    /* Credentials within 5 minutes of expiry are fetched again. */
    creds_provider_invalidate(p);
    serve_creds(200, "ASIASHORT", TOKEN, 200);
    CHECK_EQ_INT(creds_provider_get(p, &c), 0);
    CHECK_EQ_STR(c.access_key_id, "ASIASHORT");
    aws_creds_release(&c);
    CHECK_EQ_INT(atomic_load(&srv.creds_hits), 2);
    serve_creds(200, "ASIAFRESH", TOKEN, 3600);
    CHECK_EQ_INT(creds_provider_get(p, &c), 0);
    CHECK_EQ_STR(c.access_key_id, "ASIAFRESH");
    aws_creds_release(&c);
    CHECK_EQ_INT(atomic_load(&srv.creds_hits), 3);
    CHECK_EQ_INT(creds_provider_get(p, &c), 0);
    aws_creds_release(&c);
    CHECK_EQ_INT(atomic_load(&srv.creds_hits), 3);

    /* A failed refresh keeps credentials that are still valid. */
    creds_provider_invalidate(p);
    serve_creds(200, "ASIASTILLOK", TOKEN, 120);
    CHECK_EQ_INT(creds_provider_get(p, &c), 0);
    aws_creds_release(&c);
    serve_creds(500, "x", "y", 3600);
    CHECK_EQ_INT(creds_provider_get(p, &c), 0);
    CHECK_EQ_STR(c.access_key_id, "ASIASTILLOK");
    aws_creds_release(&c);
    /* But expired ones are not used. */
    creds_provider_invalidate(p);
    serve_creds(200, "ASIAEXPIRED", TOKEN, -10);
    CHECK_EQ_INT(creds_provider_get(p, &c), 0); /* fetched: take it once */
    aws_creds_release(&c);
    serve_creds(403, "x", "y", 3600);
    CHECK_EQ_INT(creds_provider_get(p, &c), ETL_EAUTH);
    creds_provider_free(p);

    /* The token file wins over the token variable. */
    write_file("token", "file-token\n");
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tmp_path("token"), 1);
    serve_creds(200, "ASIATOKENFILE", TOKEN, 3600);
    CHECK_EQ_INT(get(&c), 0);
    CHECK_EQ_STR(srv.last_auth, "file-token");
    aws_creds_release(&c);

    /* Plain http to anything but a loopback or the ECS agent is refused
     * without a request. */
    int hits = atomic_load(&srv.creds_hits);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI",
           "http://creds.example.com/creds", 1);
    CHECK_EQ_INT(get(&c), ETL_ECONFIG);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "ftp://127.0.0.1/x", 1);
    CHECK_EQ_INT(get(&c), ETL_ECONFIG);
    CHECK_EQ_INT(atomic_load(&srv.creds_hits), hits);

    /* A broken document is an authentication failure. */
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, 1);
    pthread_mutex_lock(&srv.lock);
    srv.creds_status = 200;
    snprintf(srv.creds_body, sizeof(srv.creds_body), "{\"AccessKeyId\": 1}");
    pthread_mutex_unlock(&srv.lock);
    CHECK_EQ_INT(get(&c), ETL_EAUTH);
}

TEST(imds_v2)
{
    clean_env();
    unsetenv("AWS_EC2_METADATA_DISABLED");
    char ep[128];
    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d/", srv.port);
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", ep, 1);
    serve_creds(200, "ASIAIMDS", TOKEN, 6 * 3600);
    struct aws_creds c;
    CHECK_EQ_INT(get(&c), 0);
    CHECK_EQ_STR(c.access_key_id, "ASIAIMDS");
    CHECK_EQ_STR(c.session_token, TOKEN);
    CHECK_EQ_STR(c.source, "imds");
    aws_creds_release(&c);
    CHECK_EQ_INT(atomic_load(&srv.token_hits), 1);
    CHECK_EQ_INT(atomic_load(&srv.role_hits), 1);
    CHECK_EQ_INT(atomic_load(&srv.role_creds_hits), 1);
    CHECK_EQ_STR(srv.last_imds_token, "imds-session-token");

    /* Disabled: IMDS is not asked. */
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    CHECK_EQ_INT(get(&c), ETL_EAUTH);
    CHECK_EQ_INT(atomic_load(&srv.token_hits), 1);

    /* Nothing listening: "no credentials", quickly. */
    unsetenv("AWS_EC2_METADATA_DISABLED");
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof(a);
    bind(s, (struct sockaddr *)&a, sizeof(a));
    getsockname(s, (struct sockaddr *)&a, &alen);
    close(s); /* a port nobody listens on */
    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", ntohs(a.sin_port));
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", ep, 1);
    time_t t0 = time(NULL);
    CHECK_EQ_INT(get(&c), ETL_EAUTH);
    CHECK(time(NULL) - t0 < 5);
}

/* Many threads asking at once while credentials keep expiring: one
 * consistent set each time, no crash. */
static struct creds_provider *shared;
static atomic_int hammer_bad;

static void *hammer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20; i++) {
        struct aws_creds c;
        if (creds_provider_get(shared, &c) != 0 ||
            strcmp(c.secret_access_key, SECRET) != 0)
            atomic_fetch_add(&hammer_bad, 1);
        aws_creds_release(&c);
    }
    return NULL;
}

TEST(concurrent_refresh)
{
    clean_env();
    char uri[128];
    snprintf(uri, sizeof(uri), "http://127.0.0.1:%d/creds", srv.port);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, 1);
    serve_creds(200, "ASIACONC", TOKEN, 100); /* always "expiring" */
    CHECK_EQ_INT(creds_provider_new(&shared), 0);
    int before = atomic_load(&srv.creds_hits);
    pthread_t th[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&th[i], NULL, hammer, NULL);
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ_INT(atomic_load(&hammer_bad), 0);
    CHECK_EQ_INT(atomic_load(&srv.creds_hits) - before, 160);
    creds_provider_free(shared);
}

TEST(json)
{
    const char *doc = "{ \"a\": [1, {\"x\": \"}\"}, true], \"n\": null,"
                      " \"Token\": \"a\\\"b\\\\c\\/d\\u00e9\\ud83d\\ude00\\n\","
                      " \"num\": -1.5e3 }";
    char *v = NULL;
    CHECK_EQ_INT(creds_json_string(doc, strlen(doc), "Token", &v), 0);
    CHECK_EQ_STR(v, "a\"b\\c/d\xc3\xa9\xf0\x9f\x98\x80\n");
    free(v);
    CHECK_EQ_INT(creds_json_string(doc, strlen(doc), "num", &v), ETL_ENOTFOUND);
    CHECK_EQ_INT(creds_json_string(doc, strlen(doc), "x", &v), ETL_ENOTFOUND);
    CHECK_EQ_INT(creds_json_string("{}", 2, "x", &v), ETL_ENOTFOUND);
    static const char *const bad[] = {
        "",
        "[]",
        "{",
        "{\"a\"}",
        "{\"a\": \"x}",
        "{\"a\": \"\\u0000\"}",
        "{\"a\": \"\\ud800\"}",
        "{\"a\": \"\\q\"}",
        "{\"a\": 1,}",
        "{\"a\": \"\x01\"}",
        "{\"k\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
        "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]], \"a\":"
        " \"b\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = creds_json_string(bad[i], strlen(bad[i]), "a", &v);
        if (rc != ETL_EINVAL)
            HARNESS_FAIL("bad[%zu]: rc %d", i, rc);
        CHECK(v == NULL);
    }
    /* Not NUL-terminated: only len bytes are read. */
    char cut[] = {'{', '"', 'a', '"', ':', '"', 'b', '"', '}'};
    CHECK_EQ_INT(creds_json_string(cut, sizeof(cut) - 1, "a", &v),
                 0); /* the value is complete before the cut */
    CHECK_EQ_STR(v, "b");
    free(v);
    CHECK_EQ_INT(creds_json_string(cut, 7, "a", &v), ETL_EINVAL);
}

TEST(times)
{
    time_t t;
    CHECK_EQ_INT(creds_parse_time("2013-05-24T00:00:00Z", &t), 0);
    CHECK(t == 1369353600);
    CHECK_EQ_INT(creds_parse_time("2013-05-24T00:00:00.123Z", &t), 0);
    CHECK(t == 1369353600);
    CHECK_EQ_INT(creds_parse_time("2013-05-24T00:00:00+00:00", &t), 0);
    CHECK_EQ_INT(creds_parse_time("2013-05-24T00:00:00", &t), ETL_EINVAL);
    CHECK_EQ_INT(creds_parse_time("2013-05-24T00:00:00+02:00", &t), ETL_EINVAL);
    CHECK_EQ_INT(creds_parse_time("2013-13-24T00:00:00Z", &t), ETL_EINVAL);
    CHECK_EQ_INT(creds_parse_time("soon", &t), ETL_EINVAL);
}

/* Everything above logged to a file: no secret may appear in it. */
static void check_log_clean(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        HARNESS_FAIL("no log file");
        return;
    }
    struct buf text = BUF_INIT;
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
        buf_add(&text, tmp, n);
    fclose(f);
    CHECK(text.len > 0);                                 /* it did log */
    CHECK(strstr(text.data, "aws_credentials") != NULL); /* ... this */
    CHECK(strstr(text.data, SECRET) == NULL);
    CHECK(strstr(text.data, "zSECRETz") == NULL);
    CHECK(strstr(text.data, TOKEN) == NULL);
    CHECK(strstr(text.data, "env-token") == NULL);
    CHECK(strstr(text.data, "file-token") == NULL);
    CHECK(strstr(text.data, "imds-session-token") == NULL);
    buf_release(&text);
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_store_creds.XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    char logpath[512];
    snprintf(logpath, sizeof(logpath), "%s/log.jsonl", tmpdir);
    int logfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    log_init(LOG_DEBUG, LOG_FORMAT_JSON, logfd);
    server_start();
    RUN(environment_first);
    RUN(shared_files);
    RUN(container_endpoint);
    RUN(imds_v2);
    RUN(concurrent_refresh);
    RUN(json);
    RUN(times);
    server_stop();
    check_log_clean(logpath);
    close(logfd);
    static const char *const files[] = {"credentials", "config", "token",
                                        "log.jsonl"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        unlink(tmp_path(files[i]));
    rmdir(tmpdir);
    return harness_done();
}
