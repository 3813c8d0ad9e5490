// Entry point of the quiver_unit executable: the only file that defines BOOST_TEST_MODULE.
// The suites live in the other test/unit/*.cpp files; nothing else belongs here.
#define BOOST_TEST_MODULE quiver_core
#include <boost/test/unit_test.hpp>
