// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "cli.h"
int cmd_monitor(int argc, char **argv) { return cli_err("monitor: not yet"); }
int cmd_metrics(int argc, char **argv) { return cli_err("metrics: not yet"); }
