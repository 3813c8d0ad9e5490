// Filter columns of a vector index (issue 11): the values an index keeps beside each entry
// (its "payload") and the predicates it evaluates on them while it searches, so that
// `WHERE tenant = $2 AND tags && $3 ORDER BY emb <-> $1 LIMIT k` is answered inside the walk.
// Pure C++: the glue turns a row's filter columns into a payload and a query's scan keys into a
// Predicate; the core never sees PostgreSQL types.
//
// Value model (what the glue maps SQL types to):
//   integer     int2, int4, int8, date, timestamp, timestamptz (PostgreSQL's own int64 forms),
//               compared as signed 64-bit integers
//   boolean     bool
//   text        text, compared bytewise (equal to SQL comparison for equality always, for
//               ranges only under the "C" collation; the glue does not push other text ranges)
//   int array   int4[] / int8[], NULL elements dropped (they never match anything)
//   text array  text[], NULL elements dropped
//   null        a NULL column value (every comparison with it is false, as SQL's unknown is)
//
// Payload format (little-endian, on index pages: change only with the index format version):
//   per column, in index column order: u8 kind (ValueKind), then
//     integer     i64
//     boolean     u8 (0 or 1)
//     text        u32 length, bytes
//     int array   u32 count, count x i64
//     text array  u32 count, count x (u32 length, bytes)
//     null        nothing
#pragma once
#include "quiver/core/pure.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace quiver::core::filter {

enum class ValueKind : std::uint8_t {
    null = 0,
    integer = 1,
    boolean = 2,
    text = 3,
    int_array = 4,
    text_array = 5,
};

// Builds one entry's payload, column by column.
class PayloadWriter {
public:
    void add_null();
    void add_integer(std::int64_t v);
    void add_boolean(bool v);
    void add_text(const char *bytes, std::size_t len);
    void add_int_array(const std::int64_t *values, std::size_t count);
    // texts[i] of lengths[i] bytes.
    void add_text_array(const char *const *texts, const std::size_t *lengths, std::size_t count);

    const std::vector<std::uint8_t> &bytes() const noexcept { return bytes_; }
    std::size_t columns() const noexcept { return columns_; }
    void clear() noexcept
    {
        bytes_.clear();
        columns_ = 0;
    }

private:
    void put_u32(std::uint32_t v);
    void put_i64(std::int64_t v);
    std::vector<std::uint8_t> bytes_;
    std::size_t columns_ = 0;
};

// Whether `payload` is a well-formed payload of exactly `columns` columns (every length inside
// the buffer, every kind known): what an index check asks of a stored one.
bool payload_valid(const std::uint8_t *payload, std::size_t size, std::size_t columns) noexcept;

enum class Op : std::uint8_t {
    eq,           // column = constant
    ne,           // column <> constant
    lt,           // column < constant
    le,
    gt,
    ge,
    any_eq,       // column = ANY(constant array)
    is_null,      // column IS NULL
    is_not_null,  // column IS NOT NULL
    overlaps,     // array column && constant array
    contains,     // array column @> constant array
};

// One comparison of a column with a constant. Scalars: integer, boolean or text (text in
// `texts[0]`); arrays (any_eq, overlaps, contains): `integers` or `texts`, with has_null set
// when the SQL array held a NULL element.
struct Clause {
    std::uint16_t column = 0;
    Op op = Op::eq;
    ValueKind kind = ValueKind::integer;  // of the constant (integer, boolean, text, *_array)
    std::int64_t integer = 0;
    bool boolean = false;
    std::vector<std::int64_t> integers;
    std::vector<std::string> texts;
    bool has_null = false;
};

// A conjunction of clauses (AND), evaluated on payloads. A clause that compares a column with
// a value of another kind is false (the glue never builds one). Empty: every payload matches.
class Predicate {
public:
    // Sorts array constants once so membership tests are binary searches.
    void add(Clause clause);
    bool empty() const noexcept { return clauses_.empty(); }
    std::size_t size() const noexcept { return clauses_.size(); }
    // A payload that is not well-formed never matches.
    bool matches(const std::uint8_t *payload, std::size_t size) const noexcept;

private:
    std::vector<Clause> clauses_;
    std::uint16_t max_column_ = 0;
};

}  // namespace quiver::core::filter
