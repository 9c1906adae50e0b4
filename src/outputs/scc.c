// SPDX-License-Identifier: Apache-2.0
#include "outputs/scc.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "outputs/http.h"
#include "outputs/scc_auth.h"
#include "outputs/scc_map.h"
#include "store/store.h"
#include "util/hash.h"
#include "util/log.h"

#define SCC_TIMEOUT_MS	       10000
#define SCC_CONNECT_TIMEOUT_MS 5000
/* The most of an answer kept: a finding SCC sends back, a page of sources */
#define SCC_ANSWER_MAX (1024 * 1024)
/* A token is used until this long before it expires (clocks differ, requests take time) */
#define SCC_TOKEN_MARGIN_S 60
/* The metadata server, where GCE_METADATA_HOST (Google's libraries' own variable) does not say */
#define SCC_METADATA_HOST "metadata.google.internal"
#define SCC_METADATA_PATH "/computeMetadata/v1/instance/service-accounts/default/token"
/* The source `source: create` makes, and finds again by this name */
#define SCC_SOURCE_NAME	       "sowatch"
#define SCC_SOURCE_DESCRIPTION "Suspicious OpenSSL shared objects, found by the sowatch sensor."
#define SCC_SOURCES_PAGE       1000

struct scc_output {
	struct output out; /* first: the delivery thread only knows this */
	struct config_scc cfg;
	struct scc_parent parent; /* its source "" until `create` found or made it */
	bool metadata;		  /* credentials: metadata */
	struct scc_key key;
	char token_uri[2048];
	char metadata_url[600];
	char ca_file[PATH_MAX]; /* resolved */
	CURL *curl;		/* one handle, reused: its connections are kept alive */
	char token[SCC_TOKEN_MAX + 1];
	time_t token_until; /* CLOCK_MONOTONIC seconds; 0: no token */
	/* The answer to the request under way */
	const volatile int *stopping;
	char *answer;
	size_t answer_len;
	int64_t retry_after_ms;
	char curl_error[CURL_ERROR_SIZE];
	/* source: create: where the source's id is remembered, under remembered_as */
	struct store *store;
	char remembered_as[sizeof(((struct config_scc *)0)->endpoint) + 64];
};

static time_t monotonic_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static size_t on_answer(char *data, size_t size, size_t nmemb, void *arg)
{
	struct scc_output *s = arg;
	size_t n = size * nmemb, room = SCC_ANSWER_MAX - s->answer_len;

	if (n > room)
		n = room;
	memcpy(s->answer + s->answer_len, data, n);
	s->answer_len += n;
	s->answer[s->answer_len] = '\0';
	return size * nmemb;
}

static int setup_handle(struct scc_output *s)
{
	const struct http_handle_opts o = {
		.ca_file = s->ca_file,
		.timeout_ms = SCC_TIMEOUT_MS,
		.connect_timeout_ms = SCC_CONNECT_TIMEOUT_MS,
		.error_buffer = s->curl_error,
		.on_body = on_answer,
		.ctx = s,
		.retry_after_ms = &s->retry_after_ms,
		.stopping = &s->stopping,
	};

	/* http is for the metadata server only, whose URL sowatch makes itself */
	return http_handle_setup(s->curl, &o);
}

enum scc_auth_kind {
	SCC_NO_AUTH,	     /* the token endpoint */
	SCC_METADATA_FLAVOR, /* the metadata server */
	SCC_BEARER,	     /* the API */
};

/*
 * One request. 0 with its status in *status and the answer in s->answer, or -EIO when no
 * answer came (error says why). body NULL: a GET.
 */
static int request(struct scc_output *s, const char *method, const char *url,
		   enum scc_auth_kind auth, const char *content_type, const char *body,
		   long *status, char *error, size_t esize)
{
	struct curl_slist *headers = NULL, *l;
	char line[SCC_TOKEN_MAX + 64];
	CURLcode rc;
	int err = -ENOMEM;

	s->answer_len = 0;
	s->answer[0] = '\0';
	s->retry_after_ms = -1;
	s->curl_error[0] = '\0';
	*status = 0;
	/* Without "Expect:" curl would wait up to a second for 100 Continue on larger bodies */
	l = libcurl.slist_append(headers, "Expect:");
	headers = l ? l : headers;
	if (l && content_type) {
		snprintf(line, sizeof(line), "Content-Type: %s", content_type);
		l = libcurl.slist_append(headers, line);
		headers = l ? l : headers;
	}
	if (l && auth == SCC_METADATA_FLAVOR) {
		l = libcurl.slist_append(headers, "Metadata-Flavor: Google");
		headers = l ? l : headers;
	}
	if (l && auth == SCC_BEARER) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s", s->token);
		l = libcurl.slist_append(headers, line);
		explicit_bzero(line, sizeof(line));
		headers = l ? l : headers;
	}
	if (!l) {
		snprintf(error, esize, "%s", strerror(ENOMEM));
		goto out;
	}
	libcurl.easy_setopt(s->curl, CURLOPT_URL, url);
	libcurl.easy_setopt(s->curl, CURLOPT_HTTPHEADER, headers);
	libcurl.easy_setopt(s->curl, CURLOPT_HTTPGET, 1L);
	if (body) {
		libcurl.easy_setopt(s->curl, CURLOPT_POSTFIELDS, body);
		libcurl.easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	}
	libcurl.easy_setopt(s->curl, CURLOPT_CUSTOMREQUEST,
			    strcmp(method, "PATCH") == 0 ? method : NULL);
	rc = libcurl.easy_perform(s->curl);
	libcurl.easy_setopt(s->curl, CURLOPT_HTTPHEADER, NULL);
	libcurl.easy_setopt(s->curl, CURLOPT_POSTFIELDS, NULL);
	if (rc != CURLE_OK) {
		snprintf(error, esize, "%s",
			 rc == CURLE_ABORTED_BY_CALLBACK ? "stopping"
			 : s->curl_error[0]		 ? s->curl_error
							 : libcurl.easy_strerror(rc));
		err = -EIO;
		goto out;
	}
	libcurl.easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, status);
	err = 0;
out:
	/* The list's copy of the Authorization line, wiped before it is freed */
	for (l = headers; l; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	libcurl.slist_free_all(headers);
	return err;
}

/* The answer's error, as "HTTP 403: PERMISSION_DENIED: message" */
static void answer_error(struct scc_output *s, const char *what, long status, char *error,
			 size_t esize)
{
	char text[300];

	scc_error_text(s->answer, s->answer_len, text, sizeof(text));
	snprintf(error, esize, "%.60s: HTTP %ld%s%.180s", what, status, text[0] ? ": " : "", text);
}

/*
 * A token for the API, fetched when there is none, it is about to expire, or force (the API
 * answered 401). 0, or -errno and why in error: never the finding's fault, always tried
 * again later (the key, the clock or the metadata server may be mended meanwhile).
 */
static int get_token(struct scc_output *s, bool force, char *error, size_t esize)
{
	char detail[256];
	int64_t expires_in = 0;
	long status;
	int err;

	if (!force && s->token_until && monotonic_s() < s->token_until)
		return 0;
	explicit_bzero(s->token, sizeof(s->token));
	s->token_until = 0;
	if (s->metadata) {
		err = request(s, "GET", s->metadata_url, SCC_METADATA_FLAVOR, NULL, NULL, &status,
			      detail, sizeof(detail));
		if (err) {
			snprintf(error, esize, "the metadata server %.100s: %.150s",
				 s->metadata_url, detail);
			return err;
		}
	} else {
		static const char grant[] =
		    "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=";
		char *jwt = NULL, *form;
		size_t size;

		err = scc_jwt(&s->key, s->token_uri, (int64_t)time(NULL), &jwt);
		if (err) {
			snprintf(error, esize, "cannot sign the token request: %s", strerror(-err));
			return err;
		}
		size = sizeof(grant) + strlen(jwt);
		form = malloc(size);
		if (form) {
			snprintf(form, size, "%s%s", grant, jwt);
			err = request(s, "POST", s->token_uri, SCC_NO_AUTH,
				      "application/x-www-form-urlencoded", form, &status, detail,
				      sizeof(detail));
			explicit_bzero(form, size);
			free(form);
		} else {
			err = -ENOMEM;
			snprintf(detail, sizeof(detail), "%s", strerror(ENOMEM));
		}
		explicit_bzero(jwt, strlen(jwt));
		free(jwt);
		if (err) {
			snprintf(error, esize, "the token endpoint %.100s: %.150s", s->token_uri,
				 detail);
			return err;
		}
	}
	if (status != 200) {
		answer_error(s, s->metadata ? "the metadata server's token" : "the token endpoint",
			     status, error, esize);
		return -EACCES;
	}
	err = scc_token_answer(s->answer, s->answer_len, s->token, &expires_in, detail,
			       sizeof(detail));
	explicit_bzero(s->answer, s->answer_len);
	if (err) {
		snprintf(error, esize, "%s: %s",
			 s->metadata ? "the metadata server's token" : "the token endpoint",
			 detail);
		return err;
	}
	s->token_until = monotonic_s() + (time_t)(expires_in > 2 * SCC_TOKEN_MARGIN_S
						      ? expires_in - SCC_TOKEN_MARGIN_S
						      : expires_in / 2);
	return 0;
}

/*
 * An API request with the token, and once more with a new one when SCC answers 401 (the token
 * expired early, or was revoked). 0 with *status, or -errno and why in error.
 */
static int api_request(struct scc_output *s, const char *method, const char *url, const char *body,
		       long *status, char *error, size_t esize)
{
	int err;

	for (int attempt = 0; attempt < 2; attempt++) {
		err = get_token(s, attempt > 0, error, esize);
		if (err)
			return err;
		err = request(s, method, url, SCC_BEARER, body ? "application/json" : NULL, body,
			      status, error, esize);
		if (err || *status != 401)
			return err;
		log_info("outputs.scc: SCC refused the access token (HTTP 401): getting a new one");
	}
	return 0;
}

/* The sources' page answer: the name of the one called SCC_SOURCE_NAME, and the next page */
static void sources_page(struct scc_output *s, char *found, size_t size, char *next, size_t nsize)
{
	json_t *root = json_loadb(s->answer, s->answer_len, 0, NULL);
	json_t *list = json_object_get(root, "sources"), *src;
	const char *token = json_string_value(json_object_get(root, "nextPageToken"));
	size_t i;

	found[0] = next[0] = '\0';
	json_array_foreach(list, i, src)
	{
		const char *display = json_string_value(json_object_get(src, "displayName"));
		const char *name = json_string_value(json_object_get(src, "name"));

		if (display && name && strcmp(display, SCC_SOURCE_NAME) == 0 && !found[0])
			snprintf(found, size, "%s", name);
	}
	if (token && strlen(token) < nsize &&
	    strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm"
			  "nopqrstuvwxyz0123456789-_=.~") == strlen(token))
		snprintf(next, nsize, "%s", token);
	json_decref(root);
}

/* organizations/ORG/sources/ID: ID into parent.source, if it is a number */
static int take_source_name(struct scc_output *s, const char *name)
{
	char prefix[64];
	size_t n = (size_t)snprintf(prefix, sizeof(prefix), "organizations/%s/sources/",
				    s->parent.organization);
	const char *id = name + n;

	if (strncmp(name, prefix, n) != 0 || !*id || strlen(id) >= sizeof(s->parent.source) ||
	    strspn(id, "0123456789") != strlen(id))
		return -EPROTO;
	snprintf(s->parent.source, sizeof(s->parent.source), "%s", id);
	return 0;
}

/*
 * source: create. The source named sowatch, found among the organization's (so that a
 * restart, or a second sensor, uses the one already made), or made. 0, or -errno and why.
 */
static int find_or_create_source(struct scc_output *s, char *error, size_t esize)
{
	char url[4096], found[SCC_NAME_MAX], next[512] = "", body[512];
	long status;
	int err;

	for (int page = 0; page < 1000; page++) {
		snprintf(url, sizeof(url), "%s/v2/organizations/%s/sources?pageSize=%d%s%s",
			 s->cfg.endpoint, s->parent.organization, SCC_SOURCES_PAGE,
			 next[0] ? "&pageToken=" : "", next);
		err = api_request(s, "GET", url, NULL, &status, error, esize);
		if (err)
			return err;
		if (status != 200) {
			answer_error(s, "listing the organization's sources", status, error, esize);
			return -EIO;
		}
		sources_page(s, found, sizeof(found), next, sizeof(next));
		if (found[0])
			goto take;
		if (!next[0])
			break;
	}
	snprintf(url, sizeof(url), "%s/v2/organizations/%s/sources", s->cfg.endpoint,
		 s->parent.organization);
	snprintf(body, sizeof(body), "{\"displayName\":\"%s\",\"description\":\"%s\"}",
		 SCC_SOURCE_NAME, SCC_SOURCE_DESCRIPTION);
	err = api_request(s, "POST", url, body, &status, error, esize);
	if (err)
		return err;
	if (status != 200) {
		answer_error(s, "creating the source " SCC_SOURCE_NAME, status, error, esize);
		return -EIO;
	}
	{
		json_t *root = json_loadb(s->answer, s->answer_len, 0, NULL);
		const char *name = json_string_value(json_object_get(root, "name"));

		snprintf(found, sizeof(found), "%s", name ? name : "");
		json_decref(root);
	}
	log_info("outputs.scc: created the source %s in organization %s", SCC_SOURCE_NAME,
		 s->parent.organization);
take:
	if (take_source_name(s, found) < 0) {
		snprintf(error, esize,
			 "SCC named the source %.200s, not organizations/%s/sources/N", found,
			 s->parent.organization);
		return -EPROTO;
	}
	log_info("outputs.scc: findings go to organizations/%s/sources/%s", s->parent.organization,
		 s->parent.source);
	if (s->store) {
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		err = store_remember(s->store, s->remembered_as, s->parent.source,
				     (int64_t)now.tv_sec * 1000000000 + now.tv_nsec);
		if (err)
			log_warn("outputs.scc: cannot remember the source's id in the store (%s): "
				 "it is looked up again at the next start",
				 strerror(-err));
	}
	return 0;
}

static int finding_call(struct scc_output *s, const char *id, const char *verb, const char *value,
			char *error, size_t size);

/*
 * A responder changed the finding's state or mute before it reached SCC: SCC gets the change
 * through its own methods, once it has the finding. Until then the finding counts as not
 * delivered (the PATCH is repeated: it changes nothing the second time).
 */
static void follow_marks(struct scc_output *s, const char *id, const struct scc_marks *marks,
			 struct output_result *res)
{
	char error[sizeof(res->error)];
	int err = 0;

	if (strcmp(marks->state, "INACTIVE") == 0)
		err = finding_call(s, id, "setState", marks->state, error, sizeof(error));
	if (!err && (strcmp(marks->mute, "MUTED") == 0 || strcmp(marks->mute, "UNMUTED") == 0))
		err = finding_call(s, id, "setMute", marks->mute, error, sizeof(error));
	if (err)
		output_result_set(res, OUTPUT_RETRY, error);
	else
		output_result_set(res, OUTPUT_SENT, NULL);
}

static void scc_send(struct output *out, const struct output_finding *f,
		     const volatile int *stopping, struct output_result *res)
{
	struct scc_output *s = (struct scc_output *)out;
	char name[SCC_NAME_MAX], error[sizeof(res->error)], url[SCC_NAME_MAX + 2100];
	struct scc_marks marks;
	char *body = NULL;
	long status = 0;
	int err;

	if (*stopping) {
		output_result_set(res, OUTPUT_RETRY, "stopping");
		return;
	}
	s->stopping = stopping;
	if (!s->parent.source[0] && find_or_create_source(s, error, sizeof(error)) < 0) {
		output_result_set(res, OUTPUT_RETRY, error);
		goto out;
	}
	err = scc_map_finding(&s->parent, f->id, f->json, f->len, &body, name, &marks, error,
			      sizeof(error));
	if (err) {
		output_result_set(res, err == -ENOMEM ? OUTPUT_RETRY : OUTPUT_FAILED, error);
		goto out;
	}
	snprintf(url, sizeof(url), "%s/v2/%s", s->cfg.endpoint, name);
	err = api_request(s, "PATCH", url, body, &status, error, sizeof(error));
	if (err) {
		output_result_set(res, OUTPUT_RETRY, error);
		goto out;
	}
	if (status >= 200 && status < 300) {
		follow_marks(s, f->id, &marks, res);
		goto out;
	}
	answer_error(s, "SCC", status, error, sizeof(error));
	/* 401 twice: credentials SCC does not take now; they may be mended, the finding is fine */
	if (http_status_retryable(status) || status == 401) {
		output_result_set(res, OUTPUT_RETRY, error);
		res->retry_after_ms = s->retry_after_ms;
	} else {
		output_result_set(res, OUTPUT_FAILED, error);
	}
out:
	free(body);
	s->stopping = NULL;
}

static void scc_free(struct output *out)
{
	struct scc_output *s = (struct scc_output *)out;

	if (!s)
		return;
	if (s->curl)
		libcurl.easy_cleanup(s->curl);
	scc_key_free(&s->key);
	store_close(s->store);
	explicit_bzero(s->token, sizeof(s->token));
	free(s->answer);
	free(s);
}

static const struct output_ops scc_ops = {
	.name = "scc",
	.send = scc_send,
	.reopen = NULL,
	.free = scc_free,
};

/* POST name:verb, {"state"|"mute": value}: 0, or -errno and why (SCC's own words) */
static int finding_call(struct scc_output *s, const char *id, const char *verb, const char *value,
			char *error, size_t size)
{
	char name[SCC_NAME_MAX], url[SCC_NAME_MAX + 2100], body[128];
	long status = 0;
	int err;

	if (scc_finding_name(&s->parent, id, name, sizeof(name)) < 0) {
		snprintf(error, size, "the finding id is not 1 to 32 letters and digits");
		return -EINVAL;
	}
	snprintf(url, sizeof(url), "%s/v2/%s:%s", s->cfg.endpoint, name, verb);
	snprintf(body, sizeof(body), "{\"%s\":\"%s\"}",
		 strcmp(verb, "setState") == 0 ? "state" : "mute", value);
	err = api_request(s, "POST", url, body, &status, error, size);
	if (err)
		return err;
	if (status < 200 || status >= 300) {
		answer_error(s, verb, status, error, size);
		return status == 404 ? -ENOENT : -EIO;
	}
	return 0;
}

int scc_output_update(struct output *out, const char *id, const char *verb, const char *value,
		      char *error, size_t size)
{
	struct scc_output *s = (struct scc_output *)out;

	if (!s->parent.source[0] && find_or_create_source(s, error, size) < 0)
		return -EIO;
	return finding_call(s, id, verb, value, error, size);
}

/* Two outputs with the same settings and the same key file content keep one lane on reload */
static void settings_digest(struct scc_output *s)
{
	char all[8192], hash[65];
	size_t off = 0;
	const struct config_scc *c = &s->cfg;

	off += (size_t)snprintf(all + off, sizeof(all) - off, "org=%s", c->organization) + 1;
	off += (size_t)snprintf(all + off, sizeof(all) - off, "source=%s", c->source) + 1;
	off += (size_t)snprintf(all + off, sizeof(all) - off, "location=%s", c->location) + 1;
	off += (size_t)snprintf(all + off, sizeof(all) - off, "cred=%s", c->credentials) + 1;
	off += (size_t)snprintf(all + off, sizeof(all) - off, "email=%s", s->key.client_email) + 1;
	off += (size_t)snprintf(all + off, sizeof(all) - off, "kid=%s", s->key.key_id) + 1;
	off += (size_t)snprintf(all + off, sizeof(all) - off, "endpoint=%.2000s", c->endpoint) + 1;
	off += (size_t)snprintf(all + off, sizeof(all) - off, "token=%.2000s", s->token_uri) + 1;
	off += (size_t)snprintf(all + off, sizeof(all) - off, "ca=%.2000s", s->ca_file) + 1;
	off += (size_t)snprintf(all + off, sizeof(all) - off, "md=%.500s", s->metadata_url) + 1;
	hash_sha256_hex(all, off < sizeof(all) ? off : sizeof(all), hash);
	snprintf(s->out.settings, sizeof(s->out.settings),
		 "organizations/%s/sources/%s/locations/%s settings sha256:%s", c->organization,
		 c->source, c->location, hash);
}

/* GCE_METADATA_HOST: host or host:port, as Google's own client libraries take it */
static int metadata_url(struct scc_output *s, char *error, size_t size)
{
	const char *host = getenv("GCE_METADATA_HOST");

	if (!host || !*host)
		host = SCC_METADATA_HOST;
	if (strlen(host) > 255 ||
	    strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") !=
		strlen(host)) {
		snprintf(error, size, "outputs.scc: GCE_METADATA_HOST is not a host or host:port");
		return -EINVAL;
	}
	snprintf(s->metadata_url, sizeof(s->metadata_url), "http://%s%s", host, SCC_METADATA_PATH);
	return 0;
}

/*
 * source: create. The id made at an earlier start, if the store remembers one for this
 * organization at this endpoint; the connection is kept to remember the one made later.
 */
static int recall_source(struct scc_output *s, struct store *store, char *error, size_t size)
{
	const char *why = NULL;
	char id[32];
	int err;

	snprintf(s->remembered_as, sizeof(s->remembered_as), "scc source %s/v2/organizations/%s",
		 s->cfg.endpoint, s->cfg.organization);
	if (!store)
		return 0;
	err = store_open_sibling(&s->store, store, &why);
	if (err) {
		snprintf(error, size, "outputs.scc: %s", why);
		return err;
	}
	err = store_recall(s->store, s->remembered_as, id, sizeof(id));
	if (err == -ENOENT)
		return 0;
	if (err || !id[0] || strspn(id, "0123456789") != strlen(id)) {
		snprintf(error, size, "outputs.scc: cannot read the remembered source id: %s",
			 err ? strerror(-err) : "not a number");
		return err ? err : -EINVAL;
	}
	snprintf(s->parent.source, sizeof(s->parent.source), "%s", id);
	return 0;
}

int scc_output_new(struct output **ret, const struct config_scc *cfg, struct store *store,
		   char *error, size_t size)
{
	struct scc_output *s;
	const char *why;
	char detail[400];
	int err;

	*ret = NULL;
	if (http_use_libcurl(&why) < 0) {
		snprintf(error, size, "outputs.scc: %s", why);
		return -ENOTSUP;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->answer = malloc(SCC_ANSWER_MAX + 1))) {
		free(s);
		snprintf(error, size, "outputs.scc: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	s->out.ops = &scc_ops;
	s->cfg = *cfg;
	snprintf(s->parent.organization, sizeof(s->parent.organization), "%s", cfg->organization);
	snprintf(s->parent.location, sizeof(s->parent.location), "%s", cfg->location);
	if (strcmp(cfg->source, CONFIG_SCC_CREATE) != 0)
		snprintf(s->parent.source, sizeof(s->parent.source), "%s", cfg->source);
	/* A trailing '/' would make every path "//v2/...", which Google's front end refuses */
	for (size_t n = strlen(s->cfg.endpoint); n > 8 && s->cfg.endpoint[n - 1] == '/'; n--)
		s->cfg.endpoint[n - 1] = '\0';
	if (!s->parent.source[0]) {
		err = recall_source(s, store, error, size);
		if (err)
			goto fail;
	}
	s->metadata = strcmp(cfg->credentials, CONFIG_SCC_METADATA) == 0;
	if (s->metadata) {
		err = metadata_url(s, error, size);
		if (err)
			goto fail;
	} else {
		err = scc_key_load(&s->key, cfg->credentials, detail, sizeof(detail));
		if (err) {
			snprintf(error, size, "outputs.scc: %s", detail);
			goto fail;
		}
		snprintf(s->token_uri, sizeof(s->token_uri), "%s",
			 cfg->token_uri[0] ? cfg->token_uri : s->key.token_uri);
		if (strncmp(s->token_uri, "https://", 8) != 0) {
			snprintf(error, size,
				 "outputs.scc: the token URI is not https:// (the signed assertion "
				 "is never sent in clear): set outputs.scc.token_uri");
			err = -EINVAL;
			goto fail;
		}
	}
	if (cfg->ca_file[0]) {
		err = http_check_ca_file(cfg->ca_file, "outputs.scc.ca_file", s->ca_file, error,
					 size);
		if (err)
			goto fail;
	}
	s->curl = libcurl.easy_init();
	if (!s->curl || setup_handle(s) < 0) {
		snprintf(error, size,
			 "outputs.scc: libcurl cannot be set up as required (https, TLS "
			 "verification, timeouts)");
		err = -ENOTSUP;
		goto fail;
	}
	settings_digest(s);
	*ret = &s->out;
	return 0;
fail:
	scc_free(&s->out);
	return err;
}
