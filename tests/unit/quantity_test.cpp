#include "sizeup/quantity.hpp"

#include <gtest/gtest.h>

#include "sizeup/error.hpp"

namespace sizeup {
namespace {

TEST(quantity_test, plain_scientific_and_suffixed_forms) {
  EXPECT_EQ(parse_quantity("70000000000", "--params"), 70e9);
  EXPECT_EQ(parse_quantity("70e9", "--params"), 70e9);
  EXPECT_EQ(parse_quantity("70B", "--params"), 70e9);
  EXPECT_EQ(parse_quantity("15T", "--tokens"), 15e12);
  EXPECT_EQ(parse_quantity("1.5k", "--x"), 1500.0);
  EXPECT_EQ(parse_quantity("7M", "--x"), 7e6);
  EXPECT_EQ(parse_quantity("1e27", "--compute"), 1e27);
}

TEST(quantity_test, bad_numbers_name_the_field) {
  try {
    parse_quantity("lots", "--tokens");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "invalid number (--tokens): 'lots' is not a number");
  }
  EXPECT_THROW(parse_quantity("-5", "--gpus"), InputError);
  EXPECT_THROW(parse_quantity("nan", "--mfu"), InputError);
  EXPECT_THROW(parse_quantity("inf", "--mfu"), InputError);
  EXPECT_THROW(parse_quantity("1e400", "--compute"), InputError);
  EXPECT_THROW(parse_quantity("5X", "--gpus"), InputError);
  EXPECT_THROW(parse_quantity("", "--gpus"), InputError);
  EXPECT_THROW(parse_quantity("0x10", "--gpus"), InputError);
}

TEST(quantity_test, counts_must_be_whole) {
  EXPECT_EQ(parse_count("1.5k", "--seq"), 1500);
  EXPECT_THROW(parse_count("1.5", "--seq"), InputError);
  EXPECT_THROW(parse_count("1e19", "--seq"), InputError);
}

TEST(quantity_test, byte_units_keep_gb_and_gib_apart) {
  EXPECT_EQ(parse_bytes("80GB", "--m"), 80e9);
  EXPECT_EQ(parse_bytes("80GiB", "--m"), 85899345920.0);
  EXPECT_EQ(parse_bytes("512MiB", "--m"), 536870912.0);
  EXPECT_EQ(parse_bytes("1000", "--m"), 1000.0);
  EXPECT_THROW(parse_bytes("80 furlongs", "--m"), InputError);
}

}  // namespace
}  // namespace sizeup
