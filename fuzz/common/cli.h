/* cli.h - the beaa tool (tools/beaa.c, and through it tools/common/files.h: key files, the
 * encrypted input and logit streams and their metadata) compiled into a fuzz target: its main is
 * renamed so that the target can call the readers exactly as the commands do. Include once,
 * first. */
#ifndef BEAA_FUZZ_CLI_H
#define BEAA_FUZZ_CLI_H
#define main beaa_tool_main
#include "tools/beaa.c"
#undef main
#endif
