/* finetune_states.h: THE list of fine-tuning job states, one row each, from which the enum, the
 * names, the transition table, the state sets and the job store's SQL lists all derive.
 * Adding a state: one row here (plus the case the job runner's switch then demands). */
#ifndef GB_FINETUNE_STATES_H
#define GB_FINETUNE_STATES_H

/* Flags of a state (the third column). */
#define FT_F_TERMINAL (1u << 0)   /* finished: goes nowhere, completed_at set, webhook sent */
#define FT_F_FAILURE (1u << 1)    /* a failure (terminal too) */
#define FT_F_REFUNDABLE (1u << 2) /* cancelling or failing from here gives the money back */
#define FT_F_COMMITTED (1u << 3)  /* training has started: a cancel keeps the money */
#define FT_F_TRAINED (1u << 4)    /* training has run */

/* The states it may go to (the fourth column): FT_TO(a) | FT_TO(b) ... A state never goes to
 * itself; every state that is not terminal may fail or be cancelled (checked at compile time
 * in finetune_rules.c), and a terminal state goes nowhere. */
#define FT_TO(s) (1u << (s))

/* X(id, name as the Volt API spells it, flags, next states). The order is the enum's and the
 * order of the SQL lists, so a new state goes at the end. */
#define FT_STATES(X)                                                                               \
    X(FT_PENDING, "pending", FT_F_REFUNDABLE,                                                      \
      FT_TO(FT_PREPARING_DATA) | FT_TO(FT_IDLE) | FT_TO(FT_FAILURE) | FT_TO(FT_CANCELLED))         \
    X(FT_PREPARING_DATA, "preparing_data", FT_F_REFUNDABLE,                                        \
      FT_TO(FT_IDLE) | FT_TO(FT_LOOKING_FOR_NODES) | FT_TO(FT_FAILURE) | FT_TO(FT_CANCELLED))      \
    X(FT_IDLE, "idle", FT_F_REFUNDABLE,                                                            \
      FT_TO(FT_PREPARING_DATA) | FT_TO(FT_LOOKING_FOR_NODES) | FT_TO(FT_FAILURE) |                 \
          FT_TO(FT_CANCELLED))                                                                     \
    X(FT_LOOKING_FOR_NODES, "looking_for_nodes", FT_F_REFUNDABLE,                                  \
      FT_TO(FT_READY) | FT_TO(FT_FAILURE_FINDING_NODES) | FT_TO(FT_FAILURE) | FT_TO(FT_CANCELLED)) \
    X(FT_READY, "ready", FT_F_REFUNDABLE,                                                          \
      FT_TO(FT_TRAINING) | FT_TO(FT_FAILURE) | FT_TO(FT_CANCELLED))                                \
    X(FT_TRAINING, "training", FT_F_COMMITTED | FT_F_TRAINED,                                      \
      FT_TO(FT_EVALUATING) | FT_TO(FT_FAILURE) | FT_TO(FT_NODE_TRAINING_FAILURE) |                 \
          FT_TO(FT_CANCELLED))                                                                     \
    X(FT_EVALUATING, "evaluating", FT_F_COMMITTED | FT_F_TRAINED,                                  \
      FT_TO(FT_SUCCESS) | FT_TO(FT_FAILURE) | FT_TO(FT_NODE_TRAINING_FAILURE) |                    \
          FT_TO(FT_CANCELLED))                                                                     \
    X(FT_SUCCESS, "success", FT_F_TERMINAL | FT_F_TRAINED, 0)                                      \
    X(FT_FAILURE, "failure", FT_F_TERMINAL | FT_F_FAILURE, 0)                                      \
    X(FT_FAILURE_FINDING_NODES, "failure_finding_nodes", FT_F_TERMINAL | FT_F_FAILURE, 0)          \
    X(FT_NODE_TRAINING_FAILURE, "node_training_failure",                                           \
      FT_F_TERMINAL | FT_F_FAILURE | FT_F_TRAINED, 0)                                              \
    X(FT_CANCELLED, "cancelled", FT_F_TERMINAL, 0)

#endif
