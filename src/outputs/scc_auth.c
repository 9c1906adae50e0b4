// SPDX-License-Identifier: Apache-2.0
#include "outputs/scc_auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/pem.h>

#include "outputs/http.h"
#include "util/secret_file.h"

/* A key file is about 2.4 KiB; a 4096-bit key makes it about 3.5 KiB */
#define SCC_KEY_FILE_MAX (64 * 1024)

/* A text member of o into out (size bytes): 0, or -EINVAL when missing, empty or too long */
static int text_member(json_t *o, const char *name, char *out, size_t size)
{
	json_t *v = json_object_get(o, name);
	const char *s = json_string_value(v);

	if (!s || !*s || json_string_length(v) >= size || strlen(s) != json_string_length(v))
		return -EINVAL;
	memcpy(out, s, json_string_length(v) + 1);
	return 0;
}

/* Never asks for a passphrase: a key file's key has none, and sowatch has no terminal */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

static int key_from_pem(struct scc_key *k, json_t *pem)
{
	const char *text = json_string_value(pem);
	BIO *bio;

	if (!text)
		return -EINVAL;
	bio = BIO_new_mem_buf(text, (int)json_string_length(pem));
	if (!bio)
		return -ENOMEM;
	k->pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (!k->pkey)
		return -EINVAL;
	if (!EVP_PKEY_is_a(k->pkey, "RSA")) {
		EVP_PKEY_free(k->pkey);
		k->pkey = NULL;
		return -EPROTO;
	}
	return 0;
}

int scc_key_load(struct scc_key *k, const char *path, char *error, size_t esize)
{
	const char *what = "the SCC key file";
	char *text = malloc(SCC_KEY_FILE_MAX);
	json_error_t jerr;
	json_t *root = NULL;
	size_t len;
	int err;

	memset(k, 0, sizeof(*k));
	if (!text) {
		snprintf(error, esize, "%s: %s", what, strerror(ENOMEM));
		return -ENOMEM;
	}
	err = secret_file_read_all(path, what, text, SCC_KEY_FILE_MAX, &len, error, esize);
	if (err)
		goto out;
	err = -EINVAL;
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(root)) {
		/* jansson's message may quote the text: only where it is */
		snprintf(error, esize, "%s %s is not a JSON object (line %d, column %d)", what,
			 path, root ? 1 : jerr.line, root ? 1 : jerr.column);
		goto out;
	}
	if (!json_is_string(json_object_get(root, "type")) ||
	    strcmp(json_string_value(json_object_get(root, "type")), "service_account") != 0) {
		snprintf(error, esize,
			 "%s %s is not a service account's key (\"type\": \"service_account\")",
			 what, path);
		goto out;
	}
	if (text_member(root, "client_email", k->client_email, sizeof(k->client_email)) < 0 ||
	    text_member(root, "private_key_id", k->key_id, sizeof(k->key_id)) < 0) {
		snprintf(error, esize, "%s %s: client_email or private_key_id missing or too long",
			 what, path);
		goto out;
	}
	if (!json_object_get(root, "token_uri"))
		snprintf(k->token_uri, sizeof(k->token_uri), "%s", SCC_TOKEN_URI_DEFAULT);
	else if (text_member(root, "token_uri", k->token_uri, sizeof(k->token_uri)) < 0) {
		snprintf(error, esize, "%s %s: token_uri is not a URL", what, path);
		goto out;
	}
	err = key_from_pem(k, json_object_get(root, "private_key"));
	if (err == -EPROTO)
		snprintf(error, esize, "%s %s: private_key is not an RSA key (RS256 needs one)",
			 what, path);
	else if (err)
		snprintf(error, esize, "%s %s: private_key is not a PEM private key", what, path);
out:
	if (root) {
		/* jansson's copy of the PEM: wiped before it is freed */
		json_t *pem = json_object_get(root, "private_key");

		if (json_is_string(pem))
			explicit_bzero((char *)json_string_value(pem), json_string_length(pem));
		json_decref(root);
	}
	explicit_bzero(text, SCC_KEY_FILE_MAX);
	free(text);
	if (err)
		scc_key_free(k);
	return err;
}

void scc_key_free(struct scc_key *k)
{
	EVP_PKEY_free(k->pkey);
	k->pkey = NULL;
}

/* base64url without padding (RFC 7515 2) of n bytes, appended to out at *off */
static void base64url(const unsigned char *in, size_t n, char *out, size_t *off)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = *off;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = alphabet[(v >> 6) & 63];
		if (i + 2 < n)
			out[o++] = alphabet[v & 63];
	}
	out[o] = '\0';
	*off = o;
}

static size_t base64url_size(size_t n)
{
	return (n + 2) / 3 * 4 + 1;
}

int scc_jwt(const struct scc_key *k, const char *aud, int64_t now, char **ret)
{
	json_t *header =
	    json_pack("{s:s, s:s, s:s}", "alg", "RS256", "typ", "JWT", "kid", k->key_id);
	json_t *claims = json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", k->client_email, "scope",
				   SCC_SCOPE, "aud", aud, "iat", (json_int_t)now, "exp",
				   (json_int_t)(now + SCC_JWT_LIFETIME_S));
	char *h = header ? json_dumps(header, JSON_COMPACT) : NULL;
	char *c = claims ? json_dumps(claims, JSON_COMPACT) : NULL;
	unsigned char sig[1024];
	size_t sig_len = sizeof(sig), off = 0, size;
	EVP_MD_CTX *md = NULL;
	char *jwt = NULL;
	int err = -ENOMEM;

	*ret = NULL;
	if (!h || !c)
		goto out;
	size = base64url_size(strlen(h)) + base64url_size(strlen(c)) + base64url_size(sizeof(sig));
	jwt = malloc(size + 2);
	md = EVP_MD_CTX_new();
	if (!jwt || !md)
		goto out;
	base64url((const unsigned char *)h, strlen(h), jwt, &off);
	jwt[off++] = '.';
	base64url((const unsigned char *)c, strlen(c), jwt, &off);
	err = -EIO;
	if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k->pkey) != 1 ||
	    EVP_DigestSign(md, NULL, &sig_len, (const unsigned char *)jwt, off) != 1 ||
	    sig_len > sizeof(sig) ||
	    EVP_DigestSign(md, sig, &sig_len, (const unsigned char *)jwt, off) != 1)
		goto out;
	jwt[off++] = '.';
	base64url(sig, sig_len, jwt, &off);
	*ret = jwt;
	jwt = NULL;
	err = 0;
out:
	EVP_MD_CTX_free(md);
	free(jwt);
	free(h);
	free(c);
	json_decref(header);
	json_decref(claims);
	return err;
}

int scc_token_answer(const char *body, size_t len, char *token, int64_t *ret_expires_in,
		     char *error, size_t esize)
{
	json_t *root = json_loadb(body, len, 0, NULL);
	json_t *expires = json_object_get(root, "expires_in");
	int err = -EINVAL;

	token[0] = '\0';
	if (text_member(root, "access_token", token, SCC_TOKEN_MAX + 1) < 0) {
		snprintf(error, esize, "the answer has no access_token (or one over %d bytes)",
			 SCC_TOKEN_MAX);
		goto out;
	}
	for (const char *p = token; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f) {
			snprintf(error, esize, "the access_token is not printable ASCII");
			goto out;
		}
	if (!json_is_integer(expires) || json_integer_value(expires) <= 0) {
		snprintf(error, esize, "the answer has no positive expires_in");
		goto out;
	}
	*ret_expires_in = json_integer_value(expires);
	err = 0;
out:
	if (root) {
		json_t *t = json_object_get(root, "access_token");

		if (json_is_string(t))
			explicit_bzero((char *)json_string_value(t), json_string_length(t));
		json_decref(root);
	}
	if (err)
		explicit_bzero(token, SCC_TOKEN_MAX + 1);
	return err;
}

void scc_error_text(const char *body, size_t len, char *out, size_t size)
{
	json_t *root = json_loadb(body, len, 0, NULL);
	json_t *e = json_object_get(root, "error");
	char text[512];

	if (json_is_object(e) && json_is_string(json_object_get(e, "message")))
		snprintf(text, sizeof(text), "%s: %s",
			 json_string_value(json_object_get(e, "status"))
			     ? json_string_value(json_object_get(e, "status"))
			     : "error",
			 json_string_value(json_object_get(e, "message")));
	else if (json_is_string(e))
		snprintf(text, sizeof(text), "%s%s%s", json_string_value(e),
			 json_is_string(json_object_get(root, "error_description")) ? ": " : "",
			 json_is_string(json_object_get(root, "error_description"))
			     ? json_string_value(json_object_get(root, "error_description"))
			     : "");
	else
		snprintf(text, sizeof(text), "%.*s", (int)(len < 200 ? len : 200), body);
	http_printable(out, size, text, strlen(text));
	json_decref(root);
}
