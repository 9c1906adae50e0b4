/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What only Docker knows of its containers: the name `docker ps` shows, the image as it was
 * asked for, and where its json-file log is. The OCI spec dockerd hands runc has none of them;
 * Docker keeps them in <data root>/containers/<id>/config.v2.json.
 */
#ifndef SOWATCH_CONTAINER_DOCKER_H
#define SOWATCH_CONTAINER_DOCKER_H

struct json_t;

struct docker_container {
	char *name;	/* "Name" without its leading "/" */
	char *image;	/* "Config.Image": the image as given to `docker run` */
	char *log_path; /* "LogPath" of the json-file driver; NULL for other drivers */
};

/*
 * Docker's record of container id, found through spec (its bundle's config.json): the data root
 * is where the bind mount at /etc/hostname comes from, <data root>/containers/<id>/hostname,
 * whatever --data-root dockerd runs with. That directory must be root's and writable by no one
 * else, so that a mount a user named /etc/hostname cannot make sowatch read their file.
 * Returns 0 with *ret filled (free with docker_container_free), -ENOENT when spec names no such
 * directory, -errno when it cannot be read, -ENOMEM. *ret is zeroed on error.
 */
int docker_container_read(const struct json_t *spec, const char *id, struct docker_container *ret);
void docker_container_free(struct docker_container *dc);

#endif
