/* finetune_rules.c: the fine-tuning job states, the one table of allowed transitions, and
 * the cancel/refund policy built on them. */
#include <string.h>

#include "common/str.h"
#include "jobs/finetune.h"

static const char *const NAMES[FT_STATE_COUNT] = {
    [FT_PENDING] = "pending",
    [FT_PREPARING_DATA] = "preparing_data",
    [FT_IDLE] = "idle",
    [FT_LOOKING_FOR_NODES] = "looking_for_nodes",
    [FT_READY] = "ready",
    [FT_TRAINING] = "training",
    [FT_EVALUATING] = "evaluating",
    [FT_SUCCESS] = "success",
    [FT_FAILURE] = "failure",
    [FT_FAILURE_FINDING_NODES] = "failure_finding_nodes",
    [FT_NODE_TRAINING_FAILURE] = "node_training_failure",
    [FT_CANCELLED] = "cancelled",
};

/* THE transition table: every allowed (from, to). Anything not listed is illegal. Every
 * non-terminal state may be cancelled or fail; terminal states go nowhere. */
static const struct {
    ft_state from, to;
} EDGES[] = {
    {FT_PENDING, FT_PREPARING_DATA},
    {FT_PENDING, FT_IDLE},
    {FT_PENDING, FT_FAILURE},
    {FT_PENDING, FT_CANCELLED},
    {FT_PREPARING_DATA, FT_IDLE},
    {FT_PREPARING_DATA, FT_LOOKING_FOR_NODES},
    {FT_PREPARING_DATA, FT_FAILURE},
    {FT_PREPARING_DATA, FT_CANCELLED},
    {FT_IDLE, FT_PREPARING_DATA},
    {FT_IDLE, FT_LOOKING_FOR_NODES},
    {FT_IDLE, FT_FAILURE},
    {FT_IDLE, FT_CANCELLED},
    {FT_LOOKING_FOR_NODES, FT_READY},
    {FT_LOOKING_FOR_NODES, FT_FAILURE_FINDING_NODES},
    {FT_LOOKING_FOR_NODES, FT_FAILURE},
    {FT_LOOKING_FOR_NODES, FT_CANCELLED},
    {FT_READY, FT_TRAINING},
    {FT_READY, FT_FAILURE},
    {FT_READY, FT_CANCELLED},
    {FT_TRAINING, FT_EVALUATING},
    {FT_TRAINING, FT_FAILURE},
    {FT_TRAINING, FT_NODE_TRAINING_FAILURE},
    {FT_TRAINING, FT_CANCELLED},
    {FT_EVALUATING, FT_SUCCESS},
    {FT_EVALUATING, FT_FAILURE},
    {FT_EVALUATING, FT_NODE_TRAINING_FAILURE},
    {FT_EVALUATING, FT_CANCELLED},
};

static bool valid(ft_state s)
{
    return (int)s >= 0 && (int)s < FT_STATE_COUNT;
}

const char *ft_state_name(ft_state s)
{
    return valid(s) ? NAMES[s] : "?";
}

int ft_state_parse(const char *s, ft_state *out)
{
    for (int i = 0; s && i < FT_STATE_COUNT; i++) {
        if (strcmp(s, NAMES[i]) == 0) {
            *out = (ft_state)i;
            return 0;
        }
    }
    return -1;
}

bool ft_transition_allowed(ft_state from, ft_state to)
{
    for (size_t i = 0; i < GB_ARRAY_LEN(EDGES); i++)
        if (EDGES[i].from == from && EDGES[i].to == to) return true;
    return false;
}

bool ft_state_terminal(ft_state s)
{
    return s == FT_SUCCESS || s == FT_CANCELLED || ft_state_failure(s);
}

bool ft_state_failure(ft_state s)
{
    return s == FT_FAILURE || s == FT_FAILURE_FINDING_NODES || s == FT_NODE_TRAINING_FAILURE;
}

bool ft_state_refundable_on_cancel(ft_state s)
{
    return s == FT_PENDING || s == FT_PREPARING_DATA || s == FT_IDLE || s == FT_LOOKING_FOR_NODES;
}

bool ft_state_training_started(ft_state s)
{
    return s == FT_TRAINING || s == FT_EVALUATING || s == FT_SUCCESS ||
           s == FT_NODE_TRAINING_FAILURE;
}

bool ft_state_cost_committed(ft_state s)
{
    return s == FT_READY || s == FT_TRAINING || s == FT_EVALUATING;
}

bool ft_transition_refunds(ft_state from, ft_state to)
{
    return ft_transition_allowed(from, to) && ft_state_refundable_on_cancel(from) &&
           (to == FT_CANCELLED || ft_state_failure(to));
}

void ft_cancel_message(ft_state from, gb_money refunded, char *msg, size_t n)
{
    char amount[32];
    if (refunded > 0) {
        gb_money_format(refunded, amount, sizeof(amount));
        gb_snprintf(msg, n, "Job cancelled and $%s refunded to your account", amount);
    } else if (ft_state_cost_committed(from)) {
        gb_snprintf(msg, n,
                    "Job cancelled without a refund: GPU nodes were already reserved "
                    "(status was %s)",
                    ft_state_name(from));
    } else {
        gb_snprintf(msg, n, "Job cancelled");
    }
}
