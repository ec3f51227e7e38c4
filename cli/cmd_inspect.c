/* cmd_inspect.c - placeholder until the foundation issue's inspect lands. */
#include "cli.h"

int cmd_inspect(cli *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	mtk_err err = {0};
	return cli_error(c, mtk_err_set(&err, MTK_E_UNSUPPORTED, "'inspect' is not built yet"), &err);
}
