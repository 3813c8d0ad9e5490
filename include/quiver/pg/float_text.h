// Text form of the elements of quiver's vector types (vector, halfvec, sparsevec): parsing one
// number with pgvector's exact errors, and printing the shortest text that round-trips a float.
// Glue only (ereports); no vector syntax ([ , ]) lives here, each type's input function owns that.
#pragma once

#include "quiver/pg/glue.h"

extern "C" {
#include "lib/stringinfo.h"
}

#include <cstdint>

namespace quiver::pg {

// Whitespace as pgvector's input functions skip it (space, \t, \n, \r, \v, \f).
inline bool is_vector_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

// Parses one float element of a vector literal starting exactly at *pt (no whitespace skipping).
// On success advances *pt past the number. Raises pgvector's errors for type `type_name`
// ("vector", "halfvec", "sparsevec"): invalid input syntax for type X: "<literal>" when no number
// is there; "\"<token>\" is out of range for type X" on overflow; then "NaN not allowed in X" /
// "infinite value not allowed in X".
float parse_float_element(char **pt, const char *type_name, const char *literal);

// The halfvec flavour: parses like parse_float_element, rounds to binary16 (nearest even), and
// also reports finite values beyond the half range as out of range for type halfvec.
uint16_t parse_half_element(char **pt, const char *literal);

// Raises "NaN not allowed in X" / "infinite value not allowed in X" (22000) for such a value.
void check_finite_element(float value, const char *type_name);

// Appends the shortest text that round-trips f (float_to_shortest_decimal_bufn), as pgvector
// prints elements.
void append_float(StringInfo buf, float f);

} // namespace quiver::pg
