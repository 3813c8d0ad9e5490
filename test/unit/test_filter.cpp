// Filter columns (filter.h): payload round trips and validation, and every operator against
// SQL's answer worked out by hand (NULL columns and NULL array elements included), conjunctions,
// and malformed payloads never matching.
#include "quiver/core/filter.h"

#include <boost/test/unit_test.hpp>

#include <cstring>
#include <string>
#include <vector>

namespace filter = quiver::core::filter;
using filter::Clause;
using filter::Op;
using filter::PayloadWriter;
using filter::Predicate;
using filter::ValueKind;

namespace {

// Columns: 0 tenant int = 7, 1 category text = "shoes", 2 active bool = true, 3 tags int[] =
// {3, 5, 8}, 4 labels text[] = {"red", "sale"}, 5 deleted_at = NULL, 6 day (a date's int) = -3.
std::vector<std::uint8_t> sample_payload()
{
    PayloadWriter w;
    w.add_integer(7);
    w.add_text("shoes", 5);
    w.add_boolean(true);
    const std::int64_t tags[] = {3, 5, 8};
    w.add_int_array(tags, 3);
    const char *labels[] = {"red", "sale"};
    const std::size_t lengths[] = {3, 4};
    w.add_text_array(labels, lengths, 2);
    w.add_null();
    w.add_integer(-3);
    BOOST_TEST(w.columns() == 7u);
    return w.bytes();
}

Clause integer(std::uint16_t column, Op op, std::int64_t v)
{
    Clause c;
    c.column = column;
    c.op = op;
    c.kind = ValueKind::integer;
    c.integer = v;
    return c;
}

Clause text(std::uint16_t column, Op op, const std::string &v)
{
    Clause c;
    c.column = column;
    c.op = op;
    c.kind = ValueKind::text;
    c.texts = {v};
    return c;
}

// An array constant: integers or texts, has_null when the SQL array held a NULL.
Clause array(std::uint16_t column, Op op, ValueKind kind, std::vector<std::int64_t> integers,
             std::vector<std::string> strings, bool has_null)
{
    Clause c;
    c.column = column;
    c.op = op;
    c.kind = kind;
    c.integers = std::move(integers);
    c.texts = std::move(strings);
    c.has_null = has_null;
    return c;
}

Clause ints(std::uint16_t column, Op op, std::vector<std::int64_t> v, bool has_null = false)
{
    return array(column, op, ValueKind::int_array, std::move(v), {}, has_null);
}

Clause texts(std::uint16_t column, Op op, std::vector<std::string> v, bool has_null = false)
{
    return array(column, op, ValueKind::text_array, {}, std::move(v), has_null);
}

Clause null_test(std::uint16_t column, Op op)
{
    Clause c;
    c.column = column;
    c.op = op;
    return c;
}

bool matches(const Clause &c)
{
    const std::vector<std::uint8_t> p = sample_payload();
    Predicate pred;
    pred.add(c);
    return pred.matches(p.data(), p.size());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(filter_columns)

BOOST_AUTO_TEST_CASE(payload_is_little_endian_and_validates)
{
    PayloadWriter w;
    w.add_integer(0x0102030405060708LL);
    const std::vector<std::uint8_t> want = {1, 8, 7, 6, 5, 4, 3, 2, 1};
    BOOST_TEST(w.bytes() == want);

    const std::vector<std::uint8_t> p = sample_payload();
    BOOST_TEST(filter::payload_valid(p.data(), p.size(), 7));
    BOOST_TEST(!filter::payload_valid(p.data(), p.size(), 6));  // bytes left over
    BOOST_TEST(!filter::payload_valid(p.data(), p.size(), 8));  // ends early
    for (std::size_t cut = 0; cut < p.size(); ++cut)
        BOOST_TEST(!filter::payload_valid(p.data(), cut, 7), "cut at " << cut);
    std::vector<std::uint8_t> bad = p;
    bad[0] = 9;  // unknown kind
    BOOST_TEST(!filter::payload_valid(bad.data(), bad.size(), 7));
    PayloadWriter b;
    b.add_boolean(true);
    std::vector<std::uint8_t> two = b.bytes();
    two[1] = 2;  // a boolean byte other than 0 or 1
    BOOST_TEST(!filter::payload_valid(two.data(), two.size(), 1));
    PayloadWriter e;
    BOOST_TEST(filter::payload_valid(e.bytes().data(), 0, 0));
}

BOOST_AUTO_TEST_CASE(integer_comparisons)
{
    BOOST_TEST(matches(integer(0, Op::eq, 7)));
    BOOST_TEST(!matches(integer(0, Op::eq, 8)));
    BOOST_TEST(matches(integer(0, Op::ne, 8)));
    BOOST_TEST(!matches(integer(0, Op::ne, 7)));
    BOOST_TEST(matches(integer(0, Op::lt, 8)));
    BOOST_TEST(!matches(integer(0, Op::lt, 7)));
    BOOST_TEST(matches(integer(0, Op::le, 7)));
    BOOST_TEST(matches(integer(0, Op::gt, 6)));
    BOOST_TEST(!matches(integer(0, Op::gt, 7)));
    BOOST_TEST(matches(integer(0, Op::ge, 7)));
    // Signed: a negative value (dates before 2000 are negative in PostgreSQL) orders below 0.
    BOOST_TEST(matches(integer(6, Op::lt, 0)));
    BOOST_TEST(!matches(integer(6, Op::gt, 0)));
    BOOST_TEST(matches(integer(6, Op::ge, INT64_MIN)));
    BOOST_TEST(matches(ints(0, Op::any_eq, {9, 7, 1})));
    BOOST_TEST(!matches(ints(0, Op::any_eq, {9, 1})));
    BOOST_TEST(!matches(ints(0, Op::any_eq, {})));
    BOOST_TEST(!matches(ints(0, Op::any_eq, {1}, true)));  // 7 = ANY('{1,NULL}') is NULL
    BOOST_TEST(matches(ints(0, Op::any_eq, {7}, true)));   // ... and true when 7 is there
}

BOOST_AUTO_TEST_CASE(text_and_boolean_comparisons)
{
    BOOST_TEST(matches(text(1, Op::eq, "shoes")));
    BOOST_TEST(!matches(text(1, Op::eq, "shoe")));
    BOOST_TEST(!matches(text(1, Op::eq, "shoes ")));
    BOOST_TEST(matches(text(1, Op::ne, "hats")));
    // Bytewise (the "C" collation): "shoe" < "shoes" < "shop", and bytes >= 0x80 sort last.
    BOOST_TEST(matches(text(1, Op::gt, "shoe")));
    BOOST_TEST(matches(text(1, Op::lt, "shop")));
    BOOST_TEST(matches(text(1, Op::lt, "\xc3\xa9")));
    BOOST_TEST(matches(texts(1, Op::any_eq, {"hats", "shoes"})));
    BOOST_TEST(!matches(texts(1, Op::any_eq, {"hats"})));
    Clause active;
    active.column = 2;
    active.kind = ValueKind::boolean;
    active.boolean = true;
    BOOST_TEST(matches(active));
    active.boolean = false;
    BOOST_TEST(!matches(active));
    active.op = Op::ne;
    BOOST_TEST(matches(active));
}

BOOST_AUTO_TEST_CASE(array_operators)
{
    BOOST_TEST(matches(ints(3, Op::overlaps, {1, 8})));
    BOOST_TEST(!matches(ints(3, Op::overlaps, {1, 2})));
    BOOST_TEST(!matches(ints(3, Op::overlaps, {})));
    BOOST_TEST(matches(ints(3, Op::overlaps, {5}, true)));  // NULL elements are ignored by &&
    BOOST_TEST(matches(ints(3, Op::contains, {8, 3})));
    BOOST_TEST(matches(ints(3, Op::contains, {})));         // '{3,5,8}' @> '{}' is true
    BOOST_TEST(!matches(ints(3, Op::contains, {3, 4})));
    BOOST_TEST(!matches(ints(3, Op::contains, {3}, true)));  // '{3,5,8}' @> '{3,NULL}' is false
    BOOST_TEST(matches(texts(4, Op::overlaps, {"blue", "sale"})));
    BOOST_TEST(!matches(texts(4, Op::overlaps, {"blue"})));
    BOOST_TEST(matches(texts(4, Op::contains, {"sale", "red"})));
    BOOST_TEST(!matches(texts(4, Op::contains, {"sale", "re"})));
    // An operator on the wrong kind of column never matches.
    BOOST_TEST(!matches(ints(0, Op::overlaps, {7})));
    BOOST_TEST(!matches(texts(3, Op::overlaps, {"3"})));
    BOOST_TEST(!matches(integer(3, Op::eq, 3)));
}

BOOST_AUTO_TEST_CASE(nulls)
{
    BOOST_TEST(matches(null_test(5, Op::is_null)));
    BOOST_TEST(!matches(null_test(5, Op::is_not_null)));
    BOOST_TEST(!matches(null_test(0, Op::is_null)));
    BOOST_TEST(matches(null_test(0, Op::is_not_null)));
    // Every comparison with a NULL column is unknown: false, <> included.
    for (Op op : {Op::eq, Op::ne, Op::lt, Op::le, Op::gt, Op::ge})
        BOOST_TEST(!matches(integer(5, op, 0)));
    BOOST_TEST(!matches(ints(5, Op::any_eq, {0})));
    BOOST_TEST(!matches(ints(5, Op::overlaps, {0})));
    BOOST_TEST(!matches(ints(5, Op::contains, {})));
    // Arrays written with their NULL elements dropped: '{NULL}' overlaps nothing.
    PayloadWriter w;
    w.add_int_array(nullptr, 0);
    Predicate p;
    p.add(ints(0, Op::overlaps, {1}));
    BOOST_TEST(!p.matches(w.bytes().data(), w.bytes().size()));
}

BOOST_AUTO_TEST_CASE(conjunctions_and_bad_payloads)
{
    const std::vector<std::uint8_t> payload = sample_payload();
    Predicate none;
    BOOST_TEST(none.empty());
    BOOST_TEST(none.matches(payload.data(), payload.size()));

    Predicate p;
    p.add(integer(0, Op::eq, 7));
    p.add(texts(4, Op::overlaps, {"sale"}));
    p.add(null_test(5, Op::is_null));
    BOOST_TEST(p.size() == 3u);
    BOOST_TEST(p.matches(payload.data(), payload.size()));
    p.add(integer(6, Op::gt, 0));  // one false clause makes the AND false
    BOOST_TEST(!p.matches(payload.data(), payload.size()));

    Predicate q;
    q.add(integer(0, Op::eq, 7));
    for (std::size_t cut = 0; cut < 9; ++cut)  // column 0 incomplete
        BOOST_TEST(!q.matches(payload.data(), cut));
    BOOST_TEST(q.matches(payload.data(), 9));  // columns past the last one asked are not read

    Predicate far;
    far.add(integer(7, Op::eq, 7));  // a column the payload does not have
    BOOST_TEST(!far.matches(payload.data(), payload.size()));
    Predicate beyond;
    beyond.add(integer(200, Op::eq, 7));  // past the columns a predicate may use
    BOOST_TEST(!beyond.matches(payload.data(), payload.size()));
}

BOOST_AUTO_TEST_SUITE_END()
