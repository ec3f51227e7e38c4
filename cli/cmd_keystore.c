/* cmd_keystore.c - placeholder until its issue lands; replaced by the real verb. */
#include "cli.h"

int cmd_keystore(cli *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	mtk_err err = {0};
	return cli_error(c, mtk_err_set(&err, MTK_E_UNSUPPORTED, "'keystore' is not built yet"), &err);
}
