/* cli_events.h: `gpubroker events` and the follow of `gpubroker pods events ID --follow`
 * (cli_events.c). */
#ifndef GB_CLI_EVENTS_H
#define GB_CLI_EVENTS_H

int cli_events(int argc, char **argv);
/* Prints the account's events as they happen (types: a filter or NULL; id: a pod or job id or
 * NULL) until interrupted; one line each, or one JSON object a line with json. first (may be
 * NULL) runs once, when the stream is open and before its first event (what happened before
 * is printed there without a gap); its nonzero answer ends the follow with that code. */
int cli_events_follow(const char *types, const char *id, int json, int (*first)(void *ud),
                      void *ud);

#endif
