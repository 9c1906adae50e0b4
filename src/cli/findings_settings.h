/* SPDX-License-Identifier: Apache-2.0 */
/* `sowatch findings show`: the "Container settings" section (sourceProperties.containerSettings). */
#ifndef SOWATCH_CLI_FINDINGS_SETTINGS_H
#define SOWATCH_CLI_FINDINGS_SETTINGS_H

/*
 * Prints the section from a stored finding's JSON, a line per setting, "!" before each that
 * sowatch judged risky when the finding was made. Nothing when the finding has no settings.
 */
void show_container_settings(const char *finding_json);

#endif
