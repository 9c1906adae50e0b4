// SPDX-License-Identifier: Apache-2.0
#include "findings/finding.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "proc/container.h"
#include "util/hostname.h"
#include "util/json.h"

#define MITRE_VERSION "15.1"

void finding_resource_defaults(struct finding_resource *res)
{
	memset(res, 0, sizeof(*res));
	host_name(res->hostname, sizeof(res->hostname));
	snprintf(res->project, sizeof(res->project), "%s", res->hostname);
	snprintf(res->project_display_name, sizeof(res->project_display_name), "%s", res->hostname);
	snprintf(res->source, sizeof(res->source), "sowatch");
}

static void boot_id(char out[64])
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

	out[0] = '\0';
	if (f) {
		if (!fgets(out, 64, f))
			out[0] = '\0';
		fclose(f);
	}
	out[strcspn(out, "\n")] = '\0';
}

void finding_id(const struct finding *f, const char *host, char ret_id[33])
{
	static char boot[64];
	const char *path = f->module.file.path ? f->module.file.path : "";
	const char *requested = f->module.requested ? f->module.requested : "";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	struct strbuf key = STRBUF_INIT;

	if (!boot[0])
		boot_id(boot);
	/*
	 * The start in clock ticks, as /proc has it: a process seen at exec and the same process
	 * read from /proc after a restart give the same id. Strings carry their length first:
	 * "a|" + "b" and "a" + "|b" must not name the same finding. The host name keeps apart
	 * two sensors that watch one kernel under two names (a node and its sandboxes' sensor),
	 * whose findings meet in the fleet's central store.
	 */
	strbuf_addf(&key, "%zu:%s|%s|%s|%u|%llu|%llu|%llu|%zu:%s|%zu:%s", strlen(host), host, boot,
		    f->kind->category, f->proc->pid, (unsigned long long)proc_start_ticks(f->proc),
		    (unsigned long long)f->module.file.dev, (unsigned long long)f->module.file.ino,
		    strlen(path), path, strlen(requested), requested);
	EVP_Digest(strbuf_str(&key), key.len, md, &md_len, EVP_sha256(), NULL);
	strbuf_release(&key);
	for (int i = 0; i < 16; i++)
		snprintf(ret_id + 2 * i, 3, "%02x", md[i]);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* SCC's File: path, size, sha256, hashedSize, partiallyHashed */
static void json_file(struct jw_writer *j, const char *path, const struct file_digest *d)
{
	jw_object_begin(j);
	jw_kv_string(j, "path", path ? path : "");
	if (d && d->size >= 0) {
		jw_kv_int_string(j, "size", d->size);
		jw_kv_string(j, "sha256", d->sha256);
		jw_kv_int_string(j, "hashedSize", d->hashed_size);
		jw_kv_bool(j, "partiallyHashed", d->partially_hashed);
	} else if (d) {
		jw_kv_string(j, "sha256", d->sha256); /* hashed by the source: no size known */
	}
	jw_object_end(j);
}

/* The part after '=' of "NAME=value" entries, as SCC's EnvironmentVariable {name, val}. */
static void json_env(struct jw_writer *j, const struct proc *p)
{
	jw_key(j, "envVariables");
	jw_array_begin(j);
	for (size_t i = 0; i < p->envc; i++) {
		const char *eq = strchr(p->env[i], '=');

		jw_object_begin(j);
		jw_kv_string_n(j, "name", p->env[i], eq ? (size_t)(eq - p->env[i]) : 0);
		jw_kv_string(j, "val", eq ? eq + 1 : "");
		jw_object_end(j);
	}
	jw_array_end(j);
}

static void json_process(struct jw_writer *j, const struct proc *p, const struct finding_hash *exe,
			 const struct finding_module *module)
{
	struct file_digest digest = exe->digest;
	bool hashed = exe->hashed;

	if (!hashed && p->exe_sha256[0]) {
		/* The source hashed it (gVisor): the hash, without a size we could check */
		memset(&digest, 0, sizeof(digest));
		snprintf(digest.sha256, sizeof(digest.sha256), "%s", p->exe_sha256);
		digest.size = digest.hashed_size = -1;
		hashed = true;
	}

	jw_object_begin(j);
	jw_kv_string(j, "name", p->comm);
	jw_key(j, "binary");
	json_file(j, p->exe.path, hashed ? &digest : NULL);
	if (module) {
		jw_key(j, "libraries");
		jw_array_begin(j);
		json_file(j, module->file.path, module->hash.hashed ? &module->hash.digest : NULL);
		jw_array_end(j);
	}
	jw_key(j, "args");
	jw_array_begin(j);
	for (size_t i = 0; i < p->argc; i++)
		jw_string(j, p->argv[i]);
	jw_array_end(j);
	jw_kv_bool(j, "argumentsTruncated", p->argv_truncated);
	json_env(j, p);
	jw_kv_bool(j, "envVariablesTruncated", p->env_truncated);
	jw_kv_int_string(j, "pid", p->pid);
	jw_kv_int_string(j, "parentPid", p->ppid);
	jw_kv_int_string(j, "userId", p->uid);
	jw_object_end(j);
}

/*
 * The files the finding names without a hash, and why: a responder should not take a
 * missing hash for a file that could not be read.
 */
static void json_hashes_missing(struct jw_writer *j, const struct finding *f)
{
	bool any = f->module.hash.missing != NULL;

	for (size_t i = 0; i <= f->n_ancestors && i <= FINDING_MAX_ANCESTORS; i++)
		any |= f->binaries[i].missing != NULL;
	if (!any)
		return;
	jw_key(j, "hashesMissing");
	jw_array_begin(j);
	if (f->module.hash.missing) {
		jw_object_begin(j);
		jw_kv_string(j, "file", "processes[0].libraries[0]");
		jw_kv_string(j, "reason", f->module.hash.missing);
		jw_object_end(j);
	}
	for (size_t i = 0; i <= f->n_ancestors && i <= FINDING_MAX_ANCESTORS; i++) {
		char where[48];

		if (!f->binaries[i].missing)
			continue;
		snprintf(where, sizeof(where), "processes[%zu].binary", i);
		jw_object_begin(j);
		jw_kv_string(j, "file", where);
		jw_kv_string(j, "reason", f->binaries[i].missing);
		jw_object_end(j);
	}
	jw_array_end(j);
}

/* A name as Cloud Run makes them: a DNS label (RFC 1035), a-z, 0-9 and '-', at most 63 bytes. */
static bool cloud_run_name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 63 || s[0] < 'a' || s[0] > 'z' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/*
 * The process is a Cloud Run revision's: its service and revision are known and are names
 * Cloud Run could have made (anything else, a process could have set to look like a path of
 * the resource name, stays in sourceProperties only).
 */
static bool is_cloud_run_revision(const struct proc *p)
{
	return cloud_run_name_ok(p->cloud_run[CLOUD_RUN_SERVICE]) &&
	       cloud_run_name_ok(p->cloud_run[CLOUD_RUN_REVISION]);
}

static void resource_name(const struct finding_resource *res, const struct proc *p, char *out,
			  size_t size)
{
	if (res->name[0])
		snprintf(out, size, "%s", res->name);
	else if (is_cloud_run_revision(p))
		snprintf(out, size, "//sowatch/hosts/%s/cloudRun/services/%s/revisions/%s",
			 res->hostname, p->cloud_run[CLOUD_RUN_SERVICE],
			 p->cloud_run[CLOUD_RUN_REVISION]);
	else if (p->container_id[0])
		snprintf(out, size, "//sowatch/hosts/%s/containers/%s", res->hostname,
			 p->container_id);
	else
		snprintf(out, size, "//sowatch/hosts/%s", res->hostname);
}

/* K_SERVICE, K_REVISION, K_CONFIGURATION as the process had them, when it had any. */
static void json_cloud_run(struct jw_writer *j, const struct proc *p)
{
	static const char *const keys[CLOUD_RUN_VARS] = {
		[CLOUD_RUN_SERVICE] = "service",
		[CLOUD_RUN_REVISION] = "revision",
		[CLOUD_RUN_CONFIGURATION] = "configuration",
	};
	bool any = false;

	for (int v = 0; v < CLOUD_RUN_VARS; v++)
		any |= p->cloud_run[v] != NULL;
	if (!any)
		return;
	jw_key(j, "cloudRun");
	jw_object_begin(j);
	for (int v = 0; v < CLOUD_RUN_VARS; v++)
		if (p->cloud_run[v])
			jw_kv_string(j, keys[v], p->cloud_run[v]);
	jw_object_end(j);
}

static const char *resource_type(const struct finding_resource *res, const struct proc *p)
{
	if (res->type[0])
		return res->type;
	/* Google Cloud's own name for the resource a Cloud Run revision is (its logs use it) */
	if (is_cloud_run_revision(p))
		return "cloud_run_revision";
	return p->container_id[0] ? "container" : "host";
}

static void json_labels(struct jw_writer *j, const struct container_info *ctr)
{
	jw_key(j, "labels");
	jw_array_begin(j);
	for (size_t i = 0; ctr && i < ctr->n_labels; i++) {
		jw_object_begin(j);
		jw_kv_string(j, "name", ctr->labels[i].name);
		jw_kv_string(j, "value", ctr->labels[i].value);
		jw_object_end(j);
	}
	jw_array_end(j);
}

/* SCC's Container: name, uri (the image), imageId, labels, createTime */
static void json_container(struct jw_writer *j, const struct proc *p,
			   const struct container_info *ctr)
{
	jw_object_begin(j);
	jw_kv_string(j, "name", ctr && ctr->name ? ctr->name : p->container_id);
	if (ctr && ctr->image)
		jw_kv_string(j, "uri", ctr->image);
	if (ctr && ctr->image_id)
		jw_kv_string(j, "imageId", ctr->image_id);
	json_labels(j, ctr);
	if (ctr && ctr->created_ns > 0) {
		char created[40];

		rfc3339((uint64_t)ctr->created_ns, created);
		jw_kv_string(j, "createTime", created);
	}
	jw_object_end(j);
}

/* SCC's Kubernetes: the pod, with its namespace and the container */
static void json_kubernetes(struct jw_writer *j, const struct proc *p,
			    const struct container_info *ctr)
{
	jw_key(j, "kubernetes");
	jw_object_begin(j);
	jw_key(j, "pods");
	jw_array_begin(j);
	jw_object_begin(j);
	jw_kv_string(j, "ns", ctr->namespace ? ctr->namespace : "");
	jw_kv_string(j, "name", ctr->pod);
	jw_key(j, "labels");
	jw_array_begin(j);
	jw_array_end(j);
	jw_key(j, "containers");
	jw_array_begin(j);
	json_container(j, p, ctr);
	jw_array_end(j);
	jw_object_end(j);
	jw_array_end(j);
	jw_object_end(j);
}

const char *sensor_gap_cause_name(enum sensor_gap_cause cause)
{
	switch (cause) {
	case SENSOR_GAP_STALLED:
		return "stalled";
	case SENSOR_GAP_NOT_RUNNING:
		return "not running";
	case SENSOR_GAP_NONE:
		break;
	}
	return "";
}

/* "MAJOR:MINOR", as ls -l and /proc/PID/mountinfo write a device */
static void jw_kv_device(struct jw_writer *j, const char *key, uint64_t dev)
{
	char text[32];

	snprintf(text, sizeof(text), "%u:%u", major(dev), minor(dev));
	jw_kv_string(j, key, text);
}

/*
 * sourceProperties.enforcement and enforcementJudgement, for every kind of finding: a kill is
 * always told, with what the kernel judged. Where the detector trusted the file, the finding
 * says so: the kernel's stricter judgement is what acted. Where enforce mode judged the
 * mapping and could not stop it, the finding says why.
 */
static void json_enforcement(struct jw_writer *j, const struct finding *f)
{
	const struct enforcement *e = &f->enforcement;

	if (!e->killed && e->not_possible) {
		char text[1024];

		snprintf(text, sizeof(text), "not possible: %s%s%s%s", e->not_possible,
			 e->reason ? " (" : "", e->reason ? e->reason : "", e->reason ? ")" : "");
		jw_kv_string(j, "enforcement", text);
		return;
	}
	if (!e->killed)
		return;
	jw_kv_string(j, "enforcement",
		     "killed: the process was stopped before the mapped file's code could run");
	jw_key(j, "enforcementJudgement");
	jw_object_begin(j);
	jw_kv_string(j, "by", "kernel");
	jw_kv_string(j, "reason", e->reason ? e->reason : "");
	jw_kv_device(j, "fileDevice", f->module.file.dev);
	jw_kv_uint_string(j, "fileInode", f->module.file.ino);
	jw_kv_device(j, "directoryDevice", e->dir_dev);
	jw_kv_uint_string(j, "directoryInode", e->dir_ino);
	if (f->trusted_by_detector) {
		char differs[512];

		snprintf(differs, sizeof(differs),
			 "sowatch's own policy trusted the file (%s); the kernel's stricter "
			 "judgement is the one that acted",
			 f->trusted_by_detector);
		jw_kv_string(j, "detectorDiffers", differs);
	}
	jw_object_end(j);
}

/* sourceProperties.sensorGap: {from, to, seconds, cause[, cleanStop]}, when there is one */
static void json_sensor_gap(struct jw_writer *j, const struct sensor_gap *gap)
{
	char from[40], to[40];

	if (gap->cause == SENSOR_GAP_NONE)
		return;
	rfc3339(gap->from_ns, from);
	rfc3339(gap->to_ns, to);
	jw_key(j, "sensorGap");
	jw_object_begin(j);
	jw_kv_string(j, "from", from);
	jw_kv_string(j, "to", to);
	jw_kv_uint_string(j, "seconds", (gap->to_ns - gap->from_ns + 500000000) / 1000000000);
	jw_kv_string(j, "cause", sensor_gap_cause_name(gap->cause));
	if (gap->cause == SENSOR_GAP_NOT_RUNNING)
		jw_kv_bool(j, "cleanStop", gap->clean_stop);
	jw_object_end(j);
}

int finding_to_json(const struct finding *f, const struct finding_resource *res,
		    const struct container_info *ctr, struct strbuf *out)
{
	struct jw_writer j;
	char id[33], event_time[40], create_time[40], name[1024], resource[1024];
	const struct proc *p = f->proc;

	finding_id(f, res->hostname, id);
	rfc3339(f->event_time_ns, event_time);
	rfc3339(f->create_time_ns ? f->create_time_ns : now_ns(), create_time);
	resource_name(res, p, resource, sizeof(resource));

	jw_init(&j, out);
	jw_object_begin(&j);
	jw_key(&j, "finding");
	jw_object_begin(&j);
	snprintf(name, sizeof(name), "projects/%s/sources/%s/findings/%s", res->project,
		 res->source, id);
	jw_kv_string(&j, "name", name);
	snprintf(name, sizeof(name), "projects/%s/sources/%s", res->project, res->source);
	jw_kv_string(&j, "parent", name);
	jw_kv_string(&j, "resourceName", resource);
	jw_kv_string(&j, "state", "ACTIVE");
	jw_kv_string(&j, "mute", f->mute ? f->mute : "UNDEFINED");
	jw_kv_string(&j, "category", f->kind->category);
	jw_kv_string(&j, "findingClass", "THREAT");
	jw_kv_string(&j, "severity", f->severity);
	jw_kv_string(&j, "eventTime", event_time);
	jw_kv_string(&j, "createTime", create_time);

	jw_key(&j, "mitreAttack");
	jw_object_begin(&j);
	jw_kv_string(&j, "primaryTactic", "EXECUTION");
	jw_key(&j, "primaryTechniques");
	jw_array_begin(&j);
	jw_string(&j, "SHARED_MODULES");
	jw_array_end(&j);
	jw_kv_string(&j, "version", MITRE_VERSION);
	jw_object_end(&j);

	jw_key(&j, "processes");
	jw_array_begin(&j);
	json_process(&j, p, &f->binaries[0], &f->module);
	for (size_t i = 0; i < f->n_ancestors && i < FINDING_MAX_ANCESTORS; i++)
		json_process(&j, f->ancestors[i], &f->binaries[1 + i], NULL);
	jw_array_end(&j);

	if (p->container_id[0]) {
		jw_key(&j, "containers");
		jw_array_begin(&j);
		json_container(&j, p, ctr);
		jw_array_end(&j);
		if (ctr && ctr->pod)
			json_kubernetes(&j, p, ctr);
	}

	jw_kv_string(&j, "description", f->kind->description);
	jw_kv_string(&j, "nextSteps", f->kind->next_steps);

	jw_key(&j, "sourceProperties");
	jw_object_begin(&j);
	f->kind->write_properties(&j, f);
	json_enforcement(&j, f);
	jw_kv_string(&j, "sensor", f->sensor);
	/* The store's host column: which node of a fleet saw it, once findings meet centrally */
	jw_kv_string(&j, "host", res->hostname);
	jw_kv_string(&j, "containerId", p->container_id);
	jw_kv_uint_string(&j, "eventDrops", f->event_drops);
	json_sensor_gap(&j, &f->sensor_gap);
	json_hashes_missing(&j, f);
	json_cloud_run(&j, p);
	if (ctr && ctr->settings) {
		/* container_settings_json()'s object, written when the container was looked up */
		jw_key(&j, "containerSettings");
		jw_written(&j, ctr->settings);
	}
	jw_object_end(&j);
	jw_object_end(&j); /* finding */

	jw_key(&j, "resource");
	jw_object_begin(&j);
	jw_kv_string(&j, "name", resource);
	jw_kv_string(&j, "project_display_name", res->project_display_name);
	jw_kv_string(&j, "type", resource_type(res, p));
	if (is_cloud_run_revision(p))
		jw_kv_string(&j, "display_name", p->cloud_run[CLOUD_RUN_REVISION]);
	jw_object_end(&j);
	jw_object_end(&j);
	return jw_error(&j);
}
