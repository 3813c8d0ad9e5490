// Element-level text I/O shared by the vector, halfvec and sparsevec types: parsing with
// strtof's results and pgvector's error texts and SQLSTATEs, and shortest round-trip output.
// Must not know about brackets, separators or dimensions; the type input functions do.
#include "quiver/pg/float_text.h"

extern "C" {
#include "common/shortest_dec.h"
}

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "quiver/core/half.h"

namespace quiver::pg {

namespace {

void raise_invalid_syntax(const char *type_name, const char *literal)
{
    ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
                    errmsg("invalid input syntax for type %s: \"%s\"", type_name, literal)));
}

void raise_out_of_range(const char *start, const char *end, const char *type_name)
{
    ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                    errmsg("\"%s\" is out of range for type %s", pnstrdup(start, end - start),
                           type_name)));
}

// The longest run at p of characters a plain decimal number is made of.
const char *decimal_run_end(const char *p)
{
    while ((*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '+' || *p == 'e' || *p == 'E')
        ++p;
    return p;
}

// strtof (single rounding, like float4in; PostgreSQL runs with LC_NUMERIC=C). Reports whether
// the value overflowed the float range. A plain decimal number, what clients send, goes through
// std::from_chars, which rounds the same way (correctly) but is about 4x faster: 784 elements
// took 44 us with strtof, a tenth of a whole query on such vectors at low ef_search. Anything else
// (leading blanks, '+', hex, infinities, values out of range) is left to strtof's semantics.
float scan_float(char **pt, const char *type_name, const char *literal, bool *overflowed)
{
    char *start = *pt;
    if (*start == '\0')
        raise_invalid_syntax(type_name, literal);
    const char *run_end = decimal_run_end(start);
    float fast;
    std::from_chars_result r = std::from_chars(start, run_end, fast);
    // A letter next ("0x10", "1e5x") may make strtof read more or report otherwise: let it.
    const unsigned char next = static_cast<unsigned char>(*run_end);
    const bool letter_next = (next | 0x20) >= 'a' && (next | 0x20) <= 'z';
    if (r.ec == std::errc() && r.ptr == run_end && !letter_next) {
        *overflowed = false;
        *pt = start + (run_end - start);  // run_end, without casting const away
        return fast;
    }
    char *end = start;
    errno = 0;
    float value = std::strtof(start, &end);
    if (end == start)
        raise_invalid_syntax(type_name, literal);
    *overflowed = errno == ERANGE && std::isinf(value);
    *pt = end;
    return value;
}

} // namespace

void check_finite_element(float value, const char *type_name)
{
    if (std::isnan(value))
        ereport(ERROR,
                (errcode(ERRCODE_DATA_EXCEPTION), errmsg("NaN not allowed in %s", type_name)));
    if (std::isinf(value))
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("infinite value not allowed in %s", type_name)));
}

float parse_float_element(char **pt, const char *type_name, const char *literal)
{
    char *start = *pt;
    bool overflowed = false;
    float value = scan_float(pt, type_name, literal, &overflowed);
    if (overflowed)
        raise_out_of_range(start, *pt, type_name);
    check_finite_element(value, type_name);
    return value;
}

uint16_t parse_half_element(char **pt, const char *literal)
{
    char *start = *pt;
    bool overflowed = false;
    float value = scan_float(pt, "halfvec", literal, &overflowed);
    uint16_t h = core::float_to_half(value);
    float widened = core::half_to_float(h);
    if (overflowed || (std::isinf(widened) && !std::isinf(value)))
        raise_out_of_range(start, *pt, "halfvec");
    check_finite_element(widened, "halfvec");
    return h;
}

void append_float(StringInfo buf, float f)
{
    enlargeStringInfo(buf, FLOAT_SHORTEST_DECIMAL_LEN);
    buf->len += float_to_shortest_decimal_bufn(f, buf->data + buf->len);
    buf->data[buf->len] = '\0';
}

} // namespace quiver::pg
