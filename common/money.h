/* money.h: money as integer micro-dollars (int64_t). Never floating point in storage or
 * arithmetic; dollars appear only at the edges (JSON, CLI). */
#ifndef GB_MONEY_H
#define GB_MONEY_H

#include <stddef.h>
#include <stdint.h>

typedef int64_t gb_money; /* micro-dollars: 1 USD = 1,000,000 */

#define GB_MONEY_PER_DOLLAR INT64_C(1000000)
#define GB_MONEY_MAX (INT64_C(1000000000000) * GB_MONEY_PER_DOLLAR) /* $1e12 */

/* Parses a decimal dollar string: "2.49", "-3", "0.000001", "1000.5". At most 6 decimals,
 * optional leading sign, no exponent, magnitude <= GB_MONEY_MAX. 0 on success, -1 otherwise. */
int gb_money_parse(const char *s, gb_money *out);
/* Converts a JSON number (a double) to micro-dollars, rounding to the nearest micro-dollar;
 * -1 when not finite or out of range. Used only at the JSON edge. */
int gb_money_from_double(double d, gb_money *out);
/* Formats with exactly two decimals, rounding half away from zero: 4875000 -> "4.88".
 * buf needs 32 bytes. Returns buf. */
char *gb_money_format(gb_money m, char *buf, size_t n);
/* Multiplies with rounding half away from zero; -1 on overflow. */
int gb_money_mul_ratio(gb_money m, int64_t num, int64_t den, gb_money *out);
/* m plus bp basis points of it (a margin: 1000 = 10 %), rounded as gb_money_mul_ratio rounds;
 * -1 when it overflows (*out untouched). Metering, ranking and the price caps all use it, so
 * a price is marked up the same way wherever it is shown, compared or charged. */
int gb_money_plus_bp(gb_money m, int bp, gb_money *out);

#endif
