/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Configuration: a YAML file (default /etc/sowatch/sowatch.yaml, when present). See
 * sowatch.example.yaml for every key. A bad file is refused as a whole, with one message
 * naming the file, line and key: sowatch never runs half-configured.
 */
#ifndef SOWATCH_CONFIG_H
#define SOWATCH_CONFIG_H

#include <limits.h>
#include <stdbool.h>

#include "findings/finding.h"

#define CONFIG_DEFAULT_PATH "/etc/sowatch/sowatch.yaml"

/* What a rule can match on; a rule matches when every field it sets matches. */
enum rule_field {
	RULE_MODULE_PATH,   /* the module's or library's path, as the process sees it */
	RULE_MODULE_SHA256, /* its SHA-256, lowercase hex */
	RULE_IMAGE,	    /* the container's image */
	RULE_CONTAINER,	    /* the container's name or id */
	RULE_NAMESPACE,	    /* the Kubernetes namespace */
	RULE_CATEGORY,	    /* the finding's category */
	RULE_FIELDS,
};

extern const char *const rule_field_names[RULE_FIELDS];

struct config_rule {
	char *field[RULE_FIELDS]; /* NULL: any value */
	int line;		  /* where it was written, for messages */
};

/* Defaults of the keys of outputs.webhook and outputs.syslog, when the section is given */
#define CONFIG_WEBHOOK_TIMEOUT_MS 10000
#define CONFIG_SYSLOG_ADDRESS	  "unix:///dev/log"
#define CONFIG_SYSLOG_FACILITY	  "auth"

/* An extra HTTP header of the webhook output */
struct config_header {
	char *name, *value;
};

/* outputs.webhook: one HTTP POST per finding */
struct config_webhook {
	bool enabled;			  /* the section is present */
	char url[2048];			  /* http:// or https:// */
	char ca_file[PATH_MAX];		  /* "" = the system's CAs */
	char bearer_token_file[PATH_MAX]; /* "" = no Authorization header */
	struct config_header *headers;
	size_t n_headers;
	int timeout_ms; /* default 10000 */
	int line;	/* where the section starts, for messages */
};

/* outputs.syslog: one RFC 5424 message per finding */
struct config_syslog {
	bool enabled;		     /* the section is present */
	char address[PATH_MAX + 16]; /* unix:///PATH, udp://HOST:PORT or tcp://HOST:PORT */
	char facility[16];	     /* its name, default "auth" */
	int facility_code;	     /* RFC 5424's number for it (auth: 4) */
	int line;
};

/* Defaults of the keys of outputs.nats and collect, when the section is given */
#define CONFIG_NATS_SUBJECT_PREFIX "sowatch.findings"
#define CONFIG_NATS_STREAM	   "SOWATCH"
#define CONFIG_NATS_DURABLE	   "sowatch-collect"

#define CONFIG_NATS_SERVERS_MAX 16
/* outputs.nats (a node publishes) and collect (sowatch collect and nats-init read) */
struct config_nats {
	bool enabled;				    /* the section is present */
	char servers[CONFIG_NATS_SERVERS_MAX][512]; /* nats://HOST:PORT or tls://HOST:PORT */
	size_t n_servers;
	char subject_prefix[128];     /* default "sowatch.findings" */
	char stream[64];	      /* default "SOWATCH" */
	char durable[64];	      /* collect only: default "sowatch-collect" */
	char creds_file[PATH_MAX];    /* "" = none */
	char user[128];		      /* "" = none */
	char password_file[PATH_MAX]; /* "" = none */
	char ca_file[PATH_MAX];	      /* "" = the system's CAs (TLS only) */
	/*
	 * Where the answers to this client's requests (JetStream's acknowledgements) come: ""
	 * = libnats's _INBOX. A per-user prefix lets the account allow each user its own
	 * inbox only, instead of _INBOX.>, through which any user could read others' answers.
	 */
	char inbox_prefix[128];
	int line; /* where the section starts, for messages */
};

/* Defaults of the keys of outputs.scc, when the section is given */
#define CONFIG_SCC_LOCATION "global"
#define CONFIG_SCC_ENDPOINT "https://securitycenter.googleapis.com"
#define CONFIG_SCC_CREATE   "create"   /* source: make one, and remember its id */
#define CONFIG_SCC_METADATA "metadata" /* credentials: the metadata server's token */

/* outputs.scc: each finding upserted into Security Command Center (v2 API) */
struct config_scc {
	bool enabled;		    /* the section is present */
	char organization[32];	    /* the numeric organization id */
	char source[32];	    /* the numeric source id, or "create" */
	char location[64];	    /* default "global" */
	char credentials[PATH_MAX]; /* a service account's key file, or "metadata" */
	char endpoint[2048];	    /* https://..., default Google's */
	char token_uri[2048];	    /* "" = the key file's */
	char ca_file[PATH_MAX];	    /* "" = the system's CAs */
	int line;		    /* where the section starts, for messages */
};

struct config {
	struct finding_resource resource;
	char jsonl_path[PATH_MAX]; /* "" = not set */
	char store_path[PATH_MAX]; /* "" = not set */
	struct config_webhook webhook;
	struct config_syslog syslog;
	struct config_nats nats;    /* outputs.nats */
	struct config_scc scc;	    /* outputs.scc */
	struct config_nats collect; /* collect: what `sowatch collect` and `nats-init` use */
	int retention_days;	    /* store.retention_days; 0 = keep forever (the default) */
	char metrics_listen[128];   /* metrics.listen, HOST:PORT; "" = no metrics (the default) */
	char enforce_mode[8];	    /* "", "off" or "kill" */
	char enforce_where[16];	    /* "", "all", "containers" or "host" */
	char enforce_severity[16];  /* "", "critical" or "low" */
	/* Trusted modules: never reported. Each names module_path and module_sha256. */
	struct config_rule *allow;
	size_t n_allow;
	/* Findings kept and counted but marked muted and not sent to the outputs. */
	struct config_rule *mute;
	size_t n_mute;
};

/*
 * path NULL: the default file if it exists, else defaults. On error returns -errno and a
 * message in ret_error (static storage, valid until the next call), and cfg is left zeroed,
 * holding nothing to free. cfg is overwritten, never read: to reload, load into another
 * struct config while the one in use stays as it is. The files the configuration names
 * (outputs.webhook.ca_file, bearer_token_file; ca_file, creds_file and password_file of
 * outputs.nats and collect) are checked here, at every load.
 */
int config_load(struct config *cfg, const char *path, const char **ret_error);
/* The same from a string, for tests; `name` is used in messages. */
int config_load_string(struct config *cfg, const char *name, const char *text, size_t len,
		       const char **ret_error);
/* Frees what cfg holds and zeroes it; a zeroed struct may be freed again. */
void config_free(struct config *cfg);

#endif
