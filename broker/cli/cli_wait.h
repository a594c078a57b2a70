/* cli_wait.h: the CLI's waits on a pod or a fine-tuning job (cli_wait.c). */
#ifndef GB_CLI_WAIT_H
#define GB_CLI_WAIT_H

/* Exit codes of the waits (as their commands' --help texts say). */
#define CLI_WAIT_FAILED 4    /* the pod failed or went away; the job ended in a failure */
#define CLI_WAIT_TIMEOUT 5   /* --timeout passed */
#define CLI_WAIT_CANCELLED 8 /* the job was cancelled */

/* Waits until the job ends: 0 on success, CLI_WAIT_FAILED, CLI_WAIT_CANCELLED,
 * CLI_WAIT_TIMEOUT, or the API/connection error code. Prints each state change (to stderr
 * with json; the job's JSON then goes to stdout at the end). */
int cli_wait_job(const char *id, int timeout_s, int json);

/* (cli_pods_wait, declared in cli_resources.h, waits on a pod the same way.) */

#endif
