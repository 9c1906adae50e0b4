// SPDX-License-Identifier: Apache-2.0
/*
 * The SCC output's pure parts: a sowatch finding as SCC's v2 Finding (scc_map.h), and the
 * credentials (scc_auth.h): the key file's checks and the RS256 assertion, verified here with
 * the key's public half as Google's token endpoint would.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "detectors/openssl.h"
#include "findings/finding.h"
#include "outputs/scc_auth.h"
#include "outputs/scc_map.h"

static const struct scc_parent parent = { "123456789012", "555", "global" };

/* A real finding's JSONL line, with a container and an environment */
static char *finding_line(void)
{
	static char *argv[] = { "openssl", "req", "-engine", "/tmp/x.so" };
	static char *env[] = { "PATH=/bin", "NOEQUALS" };
	struct proc p = { .ns = 1, .pid = 7, .ppid = 1, .container_id = "abc123" };
	struct finding f = {
		.kind = &openssl_finding_kind,
		.severity = "CRITICAL",
		.sensor = "ebpf",
		.proc = &p,
		.trust_reason = "custom",
	};
	struct finding_resource res = { .project = "proj", .source = "src", .hostname = "node-1" };
	struct strbuf out = STRBUF_INIT;
	char *line;

	memcpy(p.comm, "openssl", 8);
	p.argv = argv;
	p.argc = 4;
	p.env = env;
	p.envc = 2;
	f.module.file.path = "/tmp/x.so";
	f.module.kind = "engine";
	assert_int_equal(finding_to_json(&f, &res, NULL, &out), 0);
	line = strdup(strbuf_str(&out));
	strbuf_release(&out);
	return line;
}

static struct scc_marks marks;

static json_t *map(const char *id, const char *line, char *name)
{
	char error[256], *body = NULL;
	json_t *j;

	assert_int_equal(scc_map_finding(&parent, id, line, strlen(line), &body, name, &marks,
					 error, sizeof(error)),
			 0);
	j = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(j);
	free(body);
	return j;
}

static void test_map_names_and_fields(void **state)
{
	char *line = finding_line(), name[SCC_NAME_MAX];
	json_t *in = json_loads(line, 0, NULL), *out, *props;
	const char *id = "0123456789abcdef0123456789abcdef";

	out = map(id, line, name);
	assert_string_equal(name, "organizations/123456789012/sources/555/locations/global/"
				  "findings/0123456789abcdef0123456789abcdef");
	assert_string_equal(json_string_value(json_object_get(out, "name")), name);
	assert_string_equal(marks.state, "ACTIVE");
	assert_string_equal(marks.mute, "UNDEFINED");
	assert_string_equal(json_string_value(json_object_get(out, "parent")),
			    "organizations/123456789012/sources/555/locations/global");
	/* SCC's own: not sent */
	assert_null(json_object_get(out, "state"));
	assert_null(json_object_get(out, "mute"));
	assert_null(json_object_get(out, "createTime"));
	assert_null(json_object_get(out, "finding"));
	assert_null(json_object_get(out, "resource"));
	/* As they are */
	json_t *fin = json_object_get(in, "finding");
	const char *same[] = { "resourceName", "category",    "severity",  "eventTime",
			       "findingClass", "mitreAttack", "processes", "containers",
			       "description",  "nextSteps",   NULL };
	for (int i = 0; same[i]; i++)
		assert_true(
		    json_equal(json_object_get(out, same[i]), json_object_get(fin, same[i])));
	/* Moved, nothing dropped */
	props = json_object_get(out, "sourceProperties");
	assert_string_equal(json_string_value(json_object_get(props, "sowatchName")),
			    json_string_value(json_object_get(fin, "name")));
	assert_string_equal(json_string_value(json_object_get(props, "sowatchCreateTime")),
			    json_string_value(json_object_get(fin, "createTime")));
	assert_true(
	    json_equal(json_object_get(props, "resource"), json_object_get(in, "resource")));
	assert_string_equal(json_string_value(json_object_get(props, "host")), "node-1");
	json_decref(in);
	json_decref(out);
	free(line);
}

/* A member SCC's Finding lacks goes into sourceProperties, renamed if its name is taken */
static void test_map_unknown_members_kept(void **state)
{
	const char *line = "{\"finding\":{\"name\":\"n\",\"futureField\":{\"a\":1},"
			   "\"host\":\"top\",\"bad-key\":2,"
			   "\"sourceProperties\":{\"host\":\"node\"}},\"resource\":{}}";
	char name[SCC_NAME_MAX];
	json_t *out = map("abc", line, name), *props = json_object_get(out, "sourceProperties");

	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(props, "futureField"), "a")), 1);
	assert_string_equal(json_string_value(json_object_get(props, "host")), "node");
	assert_string_equal(json_string_value(json_object_get(props, "sowatch_host")), "top");
	assert_int_equal(json_integer_value(json_object_get(props, "sowatch_bad_key")), 2);
	assert_null(json_object_get(out, "futureField"));
	json_decref(out);
}

static void test_map_refusals(void **state)
{
	char name[SCC_NAME_MAX], error[256], *body = (char *)1;
	const char *ok = "{\"finding\":{}}";

	assert_int_equal(scc_map_finding(&parent, "abc-def", ok, strlen(ok), &body, name, &marks,
					 error, sizeof(error)),
			 -EINVAL);
	assert_null(body);
	assert_non_null(strstr(error, "1 to 32 letters and digits"));
	assert_int_equal(scc_map_finding(&parent, "0123456789abcdef0123456789abcdef0", ok,
					 strlen(ok), &body, name, &marks, error, sizeof(error)),
			 -EINVAL);
	assert_int_equal(
	    scc_map_finding(&parent, "abc", "[1]", 3, &body, name, &marks, error, sizeof(error)),
	    -EINVAL);
	assert_non_null(strstr(error, "not a sowatch finding"));
	assert_true(scc_finding_id_valid("A1"));
	assert_false(scc_finding_id_valid(""));
	assert_false(scc_finding_id_valid("\xc3\xa9"));
}

/* ---- credentials ------------------------------------------------------------------------ */

struct keys {
	char dir[64], path[128];
	EVP_PKEY *pkey;
};

static int keys_setup(void **state)
{
	struct keys *k = calloc(1, sizeof(*k));

	snprintf(k->dir, sizeof(k->dir), "/tmp/sowatch-test-scc-XXXXXX");
	if (!mkdtemp(k->dir))
		return -1;
	snprintf(k->path, sizeof(k->path), "%s/key.json", k->dir);
	k->pkey = EVP_RSA_gen(2048);
	*state = k;
	return k->pkey ? 0 : -1;
}

static int keys_teardown(void **state)
{
	struct keys *k = *state;

	unlink(k->path);
	rmdir(k->dir);
	EVP_PKEY_free(k->pkey);
	free(k);
	return 0;
}

/* A key file as Google makes them, with pem as private_key (NULL: the fixture's key) */
static void write_key_file(struct keys *k, const char *pem, const char *type, mode_t mode)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *text = NULL;
	json_t *o;
	long n;

	PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(bio, &text);
	o = json_pack("{s:s, s:s, s:s, s:s%, s:s, s:s}", "type", type, "project_id", "proj",
		      "private_key_id", "0123abcd", "private_key", pem ? pem : text,
		      (size_t)(pem ? strlen(pem) : (size_t)n), "client_email",
		      "sw@proj.iam.gserviceaccount.com", "token_uri", "https://127.0.0.1:1/token");
	unlink(k->path);
	assert_int_equal(json_dump_file(o, k->path, JSON_INDENT(2)), 0);
	assert_int_equal(chmod(k->path, mode), 0);
	json_decref(o);
	BIO_free(bio);
}

static json_t *b64url_json(const char *s, size_t n)
{
	char std[4096];
	unsigned char raw[4096];
	size_t i;
	int len;

	assert_true(n + 4 < sizeof(std));
	for (i = 0; i < n; i++)
		std[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	while (i % 4)
		std[i++] = '=';
	len = EVP_DecodeBlock(raw, (const unsigned char *)std, (int)i);
	assert_true(len > 0);
	while (len > 0 && raw[len - 1] == '\0')
		len--; /* DecodeBlock counts the padding's bytes */
	return json_loadb((const char *)raw, (size_t)len, 0, NULL);
}

static void test_jwt_verifies(void **state)
{
	struct keys *k = *state;
	struct scc_key key;
	char error[256], *jwt = NULL;
	unsigned char sig[512];
	const char *dot1, *dot2;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	json_t *h, *c;
	int sig_len;

	write_key_file(k, NULL, "service_account", 0600);
	if (getuid() != 0)
		skip(); /* the key file must be root's, through every directory */
	assert_int_equal(scc_key_load(&key, k->path, error, sizeof(error)), 0);
	assert_string_equal(key.client_email, "sw@proj.iam.gserviceaccount.com");
	assert_string_equal(key.token_uri, "https://127.0.0.1:1/token");
	assert_int_equal(scc_jwt(&key, "https://aud.example/token", 1700000000, &jwt), 0);
	dot1 = strchr(jwt, '.');
	dot2 = strchr(dot1 + 1, '.');
	assert_non_null(dot2);
	assert_null(strchr(dot2 + 1, '.'));
	assert_null(strpbrk(jwt, "+/="));
	h = b64url_json(jwt, (size_t)(dot1 - jwt));
	c = b64url_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	assert_string_equal(json_string_value(json_object_get(h, "alg")), "RS256");
	assert_string_equal(json_string_value(json_object_get(h, "kid")), "0123abcd");
	assert_string_equal(json_string_value(json_object_get(c, "iss")),
			    "sw@proj.iam.gserviceaccount.com");
	assert_string_equal(json_string_value(json_object_get(c, "aud")),
			    "https://aud.example/token");
	assert_string_equal(json_string_value(json_object_get(c, "scope")), SCC_SCOPE);
	assert_int_equal(json_integer_value(json_object_get(c, "iat")), 1700000000);
	assert_int_equal(json_integer_value(json_object_get(c, "exp")), 1700000000 + 3600);
	/* The signature, checked with the public half */
	{
		char std[1024];
		size_t n = strlen(dot2 + 1), i;

		for (i = 0; i < n; i++)
			std[i] = dot2[1 + i] == '-' ? '+' : dot2[1 + i] == '_' ? '/' : dot2[1 + i];
		while (i % 4)
			std[i++] = '=';
		sig_len = EVP_DecodeBlock(sig, (const unsigned char *)std, (int)i);
		sig_len -= (int)(i - n); /* the padding's bytes */
	}
	assert_int_equal(sig_len, 256);
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k->pkey), 1);
	assert_int_equal(EVP_DigestVerify(md, sig, (size_t)sig_len, (const unsigned char *)jwt,
					  (size_t)(dot2 - jwt)),
			 1);
	EVP_MD_CTX_free(md);
	json_decref(h);
	json_decref(c);
	free(jwt);
	scc_key_free(&key);
}

static void test_key_file_refusals(void **state)
{
	struct keys *k = *state;
	struct scc_key key;
	char error[512];

	if (getuid() != 0)
		skip(); /* the key file must be root's, through every directory */
	write_key_file(k, NULL, "service_account", 0644);
	assert_int_equal(scc_key_load(&key, k->path, error, sizeof(error)), -EPERM);
	assert_non_null(strstr(error, "make it 0600"));

	write_key_file(k, "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n",
		       "service_account", 0600);
	assert_int_equal(scc_key_load(&key, k->path, error, sizeof(error)), -EINVAL);
	assert_non_null(strstr(error, "private_key is not a PEM private key"));
	assert_null(strchr(error, '\n'));

	write_key_file(k, NULL, "authorized_user", 0600);
	assert_int_equal(scc_key_load(&key, k->path, error, sizeof(error)), -EINVAL);
	assert_non_null(strstr(error, "not a service account's key"));

	unlink(k->path);
	{
		FILE *f = fopen(k->path, "w");

		fputs("{not json", f);
		fclose(f);
		chmod(k->path, 0600);
	}
	assert_int_equal(scc_key_load(&key, k->path, error, sizeof(error)), -EINVAL);
	assert_non_null(strstr(error, "is not a JSON object"));
}

static void test_token_answers(void **state)
{
	char token[SCC_TOKEN_MAX + 1], error[256];
	int64_t expires = 0;
	const char *ok = "{\"access_token\":\"ya29.abc\",\"expires_in\":3599,\"token_type\":"
			 "\"Bearer\"}";
	const char *space = "{\"access_token\":\"ya29 abc\",\"expires_in\":3599}";
	const char *no_exp = "{\"access_token\":\"ya29.abc\"}";

	assert_int_equal(scc_token_answer(ok, strlen(ok), token, &expires, error, sizeof(error)),
			 0);
	assert_string_equal(token, "ya29.abc");
	assert_int_equal(expires, 3599);
	assert_int_equal(
	    scc_token_answer(space, strlen(space), token, &expires, error, sizeof(error)), -EINVAL);
	assert_string_equal(token, "");
	assert_int_equal(
	    scc_token_answer(no_exp, strlen(no_exp), token, &expires, error, sizeof(error)),
	    -EINVAL);
	assert_non_null(strstr(error, "expires_in"));
}

static void test_error_texts(void **state)
{
	char out[256];
	const char *google = "{\"error\":{\"code\":403,\"message\":\"denied\\nhere\","
			     "\"status\":\"PERMISSION_DENIED\"}}";
	const char *oauth = "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid JWT\"}";

	scc_error_text(google, strlen(google), out, sizeof(out));
	assert_string_equal(out, "PERMISSION_DENIED: denied\\x0ahere");
	scc_error_text(oauth, strlen(oauth), out, sizeof(out));
	assert_string_equal(out, "invalid_grant: Invalid JWT");
	scc_error_text("<html>", 6, out, sizeof(out));
	assert_string_equal(out, "<html>");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_names_and_fields),
		cmocka_unit_test(test_map_unknown_members_kept),
		cmocka_unit_test(test_map_refusals),
		cmocka_unit_test_setup_teardown(test_jwt_verifies, keys_setup, keys_teardown),
		cmocka_unit_test_setup_teardown(test_key_file_refusals, keys_setup, keys_teardown),
		cmocka_unit_test(test_token_answers),
		cmocka_unit_test(test_error_texts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
