// SPDX-License-Identifier: Apache-2.0
/*
 * What the configuration's unit tests share (test_config.c, test_config_nats.c): loading a
 * text, expecting it refused or accepted, and a scratch directory of files the keys name.
 * Include after <cmocka.h> and "config.h".
 */
#ifndef SOWATCH_TESTS_CONFIG_TEST_H
#define SOWATCH_TESTS_CONFIG_TEST_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static inline int load(struct config *cfg, const char *text, const char **err)
{
	*err = NULL;
	return config_load_string(cfg, "test.yaml", text, strlen(text), err);
}

static inline void expect_error(const char *text, const char *want)
{
	struct config cfg;
	const char *err;

	assert_int_not_equal(load(&cfg, text, &err), 0);
	assert_non_null(err);
	if (!strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
}

static inline char *scratch_dir(void)
{
	char *dir = strdup("/tmp/sowatch-test-config.XXXXXX");

	assert_non_null(dir);
	assert_non_null(mkdtemp(dir));
	return dir;
}

/*
 * A scratch directory with a CA file, a token file (mode 0600) and an empty file; for NATS, a
 * credentials file and a password file (mode 0600).
 */
struct files {
	char *dir;
	char ca[256], token[256], empty[256], creds[256], password[256];
};

static inline void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static inline int files_setup(void **state)
{
	struct files *fx = calloc(1, sizeof(*fx));

	fx->dir = scratch_dir();
	snprintf(fx->ca, sizeof(fx->ca), "%s/ca.pem", fx->dir);
	snprintf(fx->token, sizeof(fx->token), "%s/token", fx->dir);
	snprintf(fx->empty, sizeof(fx->empty), "%s/empty", fx->dir);
	write_file(fx->ca, "-----BEGIN CERTIFICATE-----\n", 0644);
	write_file(fx->token, "s3cr3t-token\n", 0600);
	write_file(fx->empty, "", 0600);
	snprintf(fx->creds, sizeof(fx->creds), "%s/node.creds", fx->dir);
	snprintf(fx->password, sizeof(fx->password), "%s/nats-password", fx->dir);
	/* several lines, with spaces: its text is not checked as a token's */
	write_file(fx->creds,
		   "-----BEGIN NATS USER JWT-----\neyJ0eXAiOiJKV1QifQ.e30.sig\n"
		   "------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n"
		   "SUAIBDPBAUTWCWBKIO6XHQNINK5FWJW4OHLXC3HQ2KFE4PEJUA44CNHTC4\n"
		   "------END USER NKEY SEED------\n",
		   0600);
	write_file(fx->password, "pa$$w0rd!\n", 0600);
	*state = fx;
	return 0;
}

static inline int files_teardown(void **state)
{
	struct files *fx = *state;

	unlink(fx->ca);
	unlink(fx->token);
	unlink(fx->empty);
	unlink(fx->creds);
	unlink(fx->password);
	rmdir(fx->dir);
	free(fx->dir);
	free(fx);
	return 0;
}

/* Loads printf(fmt, ...) */
__attribute__((format(printf, 3, 4))) static inline int loadf(struct config *cfg, const char **err,
							      const char *fmt, ...)
{
	char text[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return load(cfg, text, err);
}

static inline void expect_accepted(const char *text)
{
	struct config cfg;
	const char *err = NULL;

	if (load(&cfg, text, &err))
		fail_msg("refused '%s': %s", text, err);
	config_free(&cfg);
}

#endif
