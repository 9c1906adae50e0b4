// SPDX-License-Identifier: Apache-2.0
#include "outputs/outputs.h"

#include <errno.h>

#include "config.h"
#include "outputs/jsonl.h"

int outputs_from_config(const struct config *cfg, const char *jsonl_path,
			struct output *outs[OUTPUTS_MAX], size_t *n, char *error, size_t size)
{
	int err = jsonl_output_new(&outs[0], jsonl_path, error, size);

	*n = 0;
	if (err)
		return err;
	*n = 1;
	return 0;
}
