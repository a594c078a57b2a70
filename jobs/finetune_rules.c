/* finetune_rules.c: the fine-tuning job states as data (from the one list FT_STATES), the
 * questions the rest of the program asks about them, and the cancel/refund policy. */
#include <string.h>

#include "common/str.h"
#include "jobs/finetune.h"

/* Every row of FT_STATES, as data. */
static const struct {
    const char *name;
    unsigned flags, next;
} STATES[] = {
#define FT_ROW_(id, name, flags, next) [id] = {name, flags, next},
    FT_STATES(FT_ROW_)
#undef FT_ROW_
};

/* The rules of the list, checked row by row when this file compiles. */
_Static_assert(FT_STATE_COUNT <= 32, "the next-state column is a 32-bit mask");
#define FT_CHECK_(id, name, flags, next)                                                           \
    _Static_assert(!((next)&FT_TO(id)), name ": a state never goes to itself");                    \
    _Static_assert(!((flags)&FT_F_TERMINAL) || (next) == 0, name ": terminal goes nowhere");       \
    _Static_assert(((flags)&FT_F_TERMINAL) ||                                                      \
                       ((next)&FT_TO(FT_FAILURE) && (next)&FT_TO(FT_CANCELLED)),                   \
                   name ": a state that is not terminal may fail and be cancelled");               \
    _Static_assert(!((flags)&FT_F_FAILURE) || ((flags)&FT_F_TERMINAL),                             \
                   name ": a failure is terminal");                                                \
    _Static_assert(!((flags)&FT_F_REFUNDABLE) || !((flags) & (FT_F_COMMITTED | FT_F_TERMINAL)),    \
                   name ": refundable, committed and terminal exclude each other");                \
    _Static_assert(!((flags)&FT_F_COMMITTED) || !((flags)&FT_F_TERMINAL),                          \
                   name ": committed states are not terminal");                                    \
    _Static_assert((flags) & (FT_F_REFUNDABLE | FT_F_COMMITTED | FT_F_TERMINAL),                   \
                   name ": every state is refundable, committed or terminal");
FT_STATES(FT_CHECK_)
#undef FT_CHECK_

static bool valid(ft_state s)
{
    return (int)s >= 0 && (int)s < FT_STATE_COUNT;
}

static bool has(ft_state s, unsigned flag)
{
    return valid(s) && (STATES[s].flags & flag);
}

const char *ft_state_name(ft_state s)
{
    return valid(s) ? STATES[s].name : "?";
}

int ft_state_parse(const char *s, ft_state *out)
{
    for (int i = 0; s && i < FT_STATE_COUNT; i++) {
        if (strcmp(s, STATES[i].name) == 0) {
            *out = (ft_state)i;
            return 0;
        }
    }
    return -1;
}

bool ft_transition_allowed(ft_state from, ft_state to)
{
    return valid(from) && valid(to) && (STATES[from].next & FT_TO(to));
}

bool ft_state_terminal(ft_state s)
{
    return has(s, FT_F_TERMINAL);
}

bool ft_state_failure(ft_state s)
{
    return has(s, FT_F_FAILURE);
}

bool ft_state_refundable_on_cancel(ft_state s)
{
    return has(s, FT_F_REFUNDABLE);
}

bool ft_state_training_started(ft_state s)
{
    return has(s, FT_F_TRAINED);
}

bool ft_state_cost_committed(ft_state s)
{
    return has(s, FT_F_COMMITTED);
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
