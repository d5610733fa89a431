/*
 * fuzz_config.c - libFuzzer target for the configuration file decoder
 * (fs/base/config.c, fs_config_parse_text): libconfig text into the
 * chunk sizes, compression and thread settings, the audit checkpoint
 * settings and the roles list (role, user or group, scope), then
 * store_options_check on what it set, as fs_config_load does.
 *
 * The input is the file's text (up to the first NUL).  Every outcome is
 * 0, -EINVAL with exit_code FS_EXIT_USAGE, or -ENOMEM; what a success
 * sets is in range.  Nothing may crash, leak or read out of bounds.
 */
#include "base.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet(void *arg, enum store_log_level level, const char *msg)
{
	(void)arg;
	(void)level;
	(void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fs_ctx ctx = {0};
	char *text, *store = NULL;
	int rc;

	if (size > (1 << 16))
		return 0;
	store_log_set_sink(quiet, NULL);
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	store_options_init(&ctx.opt);
	rc = fs_config_parse_text(&ctx, text, "fuzz.conf", &store);
	if (rc != 0 && rc != -EINVAL && rc != -ENOMEM)
		abort();
	if (rc == -EINVAL && (ctx.exit_code != FS_EXIT_USAGE || store))
		abort();
	if (!rc) {
		if (store && !store[0])
			abort();
		if (ctx.checkpoint_dir && ctx.checkpoint_dir[0] != '/')
			abort();
		if (ctx.opt.zstd_level < 0 || ctx.opt.zstd_level > 22 ||
		    ctx.opt.threads > 4096 || ctx.opt.min_saving_pct > 100)
			abort();
		store_options_check(&ctx.opt);
	}
	free(store);
	free(ctx.checkpoint_dir);
	free(text);
	return 0;
}
