/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Security Command Center's credentials: a service account's key file, and the OAuth 2.0
 * JWT-bearer assertion made from it (RFC 7523; Google's "Using OAuth 2.0 for Server to Server
 * Applications"), or the metadata server's token. Nothing here touches the network: scc.c sends
 * the requests and hands the answers back here to be read.
 *
 * Neither a key nor a token is ever put in a message.
 */
#ifndef SOWATCH_OUTPUTS_SCC_AUTH_H
#define SOWATCH_OUTPUTS_SCC_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define SCC_SCOPE	      "https://www.googleapis.com/auth/cloud-platform"
#define SCC_TOKEN_URI_DEFAULT "https://oauth2.googleapis.com/token"
/* The longest assertion lifetime Google's token endpoint takes */
#define SCC_JWT_LIFETIME_S 3600
/* The longest access token kept (Google's are 1 to 12 KiB) */
#define SCC_TOKEN_MAX 8192

struct scc_key {
	char client_email[256];
	char key_id[128];     /* private_key_id: the JWT's kid */
	char token_uri[2048]; /* the key file's, or SCC_TOKEN_URI_DEFAULT */
	EVP_PKEY *pkey;	      /* RSA */
};

/*
 * Reads a service account's key file (util/secret_file.h's checks: root's, 0600, through
 * directories only root can change) and its RSA private key. 0, or -errno and one line in
 * error naming the file and what is wrong (never its content).
 */
int scc_key_load(struct scc_key *k, const char *path, char *error, size_t esize);
void scc_key_free(struct scc_key *k);

/*
 * The signed assertion for the token endpoint aud, issued at now (seconds): header.claims.
 * signature, base64url. *ret is malloc()ed; wipe and free it. 0 or -errno.
 */
int scc_jwt(const struct scc_key *k, const char *aud, int64_t now, char **ret);

/*
 * A token endpoint's or the metadata server's answer: {"access_token": "...", "expires_in": N}.
 * The token (printable ASCII without spaces, so that it cannot end a header early) into token
 * (SCC_TOKEN_MAX + 1 bytes), its lifetime in seconds into *ret_expires_in. 0, or -EINVAL and
 * what is wrong in error.
 */
int scc_token_answer(const char *body, size_t len, char *token, int64_t *ret_expires_in,
		     char *error, size_t esize);

/*
 * What an error answer says, one printable line: Google's {"error": {"code", "message",
 * "status"}}, OAuth's {"error": "...", "error_description": "..."}, or the start of the body.
 */
void scc_error_text(const char *body, size_t len, char *out, size_t size);

#endif
