/* ledger.c: placeholder until the ledger lands. */
typedef int gb_jobs_placeholder;
